/**
 * Compiles a Vega-Lite spec and renders it to SVG on the server (no browser, no JavaScript in the page),
 * recording every warning: a misspelt field only warns and draws an empty chart, so warnings are errors to
 * the tests and are printed under the chart in the report.
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";

/** A rendered chart. */
export interface RenderedChart {
  /** The SVG markup, its ids prefixed so that several charts can share a page. */
  svg: string;
  /** Warnings and errors logged by Vega-Lite and Vega while compiling and rendering. */
  warnings: string[];
}

/** A Vega logger that keeps warnings and errors instead of printing them. */
export function recordingLogger(sink: string[]): vega.LoggerInterface {
  let lvl = vega.Warn;
  const fmt = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
  const logger: vega.LoggerInterface = {
    level(l?: number) {
      if (l === undefined) return lvl as unknown as vega.LoggerInterface;
      lvl = l;
      return logger;
    },
    error(...args: unknown[]) {
      sink.push(`error: ${fmt(args)}`);
      return logger;
    },
    warn(...args: unknown[]) {
      sink.push(`warning: ${fmt(args)}`);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  } as vega.LoggerInterface;
  return logger;
}

/**
 * Rewrites an SVG's ids (and the `url(#…)` and `href="#…"` references to them) with a prefix: vega numbers
 * clip paths and gradients per process, so two charts on one page would otherwise share ids.
 * @example
 * ```ts
 * prefixSvgIds('<clipPath id="clip1"/><g clip-path="url(#clip1)"/>', "c3");
 * // '<clipPath id="c3-clip1"/><g clip-path="url(#c3-clip1)"/>'
 * ```
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/(\s(?:xlink:)?href)="#([^"]+)"/g, `$1="#${prefix}-$2"`);
}

/**
 * Rounds the coordinates in an SVG's geometry attributes (`d`, `transform`, `points`) to 0.1 pixel: Vega writes
 * them with up to 16 digits, which a report with long curves pays for in megabytes while no screen shows
 * them. Labels, aria-labels and other attributes are left as they are.
 * @example
 * ```ts
 * import { compactSvgNumbers } from "./svg.ts";
 * compactSvgNumbers('<path transform="translate(517.3333333333334,60.25)" d="M0.04,-1.26L3,1.96"/>');
 * // '<path transform="translate(517.3,60.3)" d="M0,-1.3L3,2"/>'
 * ```
 */
export function compactSvgNumbers(svg: string): string {
  return svg.replace(/\s(d|transform|points)="([^"]*)"/g, (_, name: string, value: string) => {
    const v = value.replace(/-?\d*\.\d+(?:e-?\d+)?/g, (n) => {
      const r = Math.round(Number(n) * 10) / 10;
      return String(Object.is(r, -0) ? 0 : r);
    });
    return ` ${name}="${v}"`;
  });
}

/**
 * Compiles `spec` with Vega-Lite and renders it to SVG with Vega's headless view.
 * @example
 * ```ts
 * const spec = { data: { values: [{ x: 1, y: 2 }] }, mark: "point", encoding: { x: { field: "x" } } } as const;
 * const { svg, warnings } = await renderChartSvg(spec, "chart-1"); // warnings: []
 * ```
 */
export async function renderChartSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedChart> {
  const warnings: string[] = [];
  const logger = recordingLogger(warnings);
  const compiled = vl.compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return { svg: compactSvgNumbers(prefixSvgIds(svg, idPrefix)), warnings };
  } finally {
    view.finalize();
  }
}
