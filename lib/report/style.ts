/**
 * The report's stylesheet, inlined into every page (the page references no file and no network).
 * @module
 */

/** Verdict colours: background and text. */
export const VERDICT_COLORS: Readonly<Record<string, [string, string]>> = Object.freeze({
  within: ["#e3f4e1", "#1d5c1a"],
  "not-at-budget": ["#fff3d6", "#7a5200"],
  "not-comparable": ["#e6ecf5", "#2c4a73"],
  worse: ["#fde4d4", "#8a3500"],
  better: ["#efe3f7", "#5b2a7a"],
  failed: ["#fbdada", "#8e1111"],
  pending: ["#ececec", "#444444"],
});

/** The CSS of report and index pages. */
export const REPORT_CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b;
  margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 60px; background: #fff; min-height: 100vh; }
h1 { font-size: 26px; margin: 4px 0 2px; }
h2 { font-size: 20px; margin: 34px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.sub { color: #555; margin: 0 0 14px; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f4f4f4; padding: 8px 10px; overflow-x: auto; max-height: 360px; border-radius: 4px; }
code.cmd { background: #f4f4f4; padding: 2px 5px; border-radius: 3px; word-break: break-all; }
.verdicts { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0 6px; }
.card { border-radius: 8px; padding: 10px 14px; min-width: 250px; flex: 1 1 250px; max-width: 380px;
  border: 1px solid rgba(0,0,0,.08); }
.card .arm { font-weight: 600; font-size: 14px; word-break: break-word; }
.card .num { font-size: 28px; font-weight: 700; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .num small { font-size: 15px; font-weight: 500; }
.card .cmp { font-size: 14px; }
.card .label { font-weight: 700; text-transform: uppercase; letter-spacing: .03em; font-size: 13px; margin-top: 4px; }
.card .why { font-size: 13px; }
.badge { display: inline-block; border-radius: 4px; padding: 1px 7px; font-weight: 600; font-size: 13px; }
.warn { background: #fff7e0; border: 1px solid #e9cf7f; border-radius: 6px; padding: 8px 12px; margin: 12px 0; font-size: 14px; }
.warn ul { margin: 4px 0 0 18px; padding: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td ul { margin: 0; padding-left: 16px; }
tr.failed td { background: #fff1f1; }
.small { font-size: 12.5px; color: #555; }
.charts { display: flex; flex-wrap: wrap; gap: 18px 26px; }
figure.chart { margin: 6px 0 10px; max-width: 100%; }
figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }
.svg-wrap svg { max-width: 100%; height: auto; display: block; }
.chart-warning { color: #8e1111; font-size: 13px; }
details { margin: 4px 0; }
details > summary { cursor: pointer; color: #2c4a73; font-size: 13px; }
img.px { image-rendering: pixelated; image-rendering: crisp-edges; display: block; max-width: 100%; height: auto; }
.arm-samples { display: flex; flex-wrap: wrap; gap: 16px 28px; align-items: flex-start; margin-bottom: 14px; }
.arm-samples figure { margin: 0; }
.arm-samples figcaption { font-size: 13px; color: #444; margin-top: 4px; max-width: 640px; }
.strip { flex-basis: 100%; }
.legend-box { display: inline-block; width: 12px; height: 12px; border: 2px solid; vertical-align: -2px; margin: 0 3px; }
nav.toc { font-size: 13.5px; margin: 8px 0 0; }
nav.toc a { margin-right: 12px; color: #2c4a73; }
footer { margin-top: 40px; font-size: 13px; color: #555; }
`;
