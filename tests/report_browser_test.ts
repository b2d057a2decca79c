/**
 * The report in a real browser: headless Chromium, every network request blocked, each generated report
 * opened and checked (charts drew SVGs with marks, no page error, every image loaded), screenshots saved.
 * The checker itself is tested on a deliberately broken page.
 *
 * Skips when /usr/bin/chromium is absent (CI installs Debian's `chromium`). Screenshots go to
 * $REDRAW_SCREENSHOT_DIR when set (e.g. reports/screenshots), else to a fixed folder in the temp dir; the
 * path is printed.
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { checkReportsInBrowser, hasChromium } from "../lib/report/browser_check.ts";
import { renderExperimentReport, renderIndex } from "../lib/report/mod.ts";
import { writeFixtureRuns } from "./fixtures/report/synthetic.ts";

const ignore = !hasChromium();
const BROKEN = new URL("./fixtures/report/broken.html", import.meta.url).pathname;

function screenshotDir(): string {
  const dir = Deno.env.get("REDRAW_SCREENSHOT_DIR");
  if (dir) return dir;
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/redraw-report-screenshots`;
}

Deno.test({
  name:
    "every generated report opens offline in Chromium with all charts drawn, all images loaded and no error",
  ignore,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "redraw-browser-test-" });
    try {
      await writeFixtureRuns(`${root}/runs`);
      const opts = { runsDir: `${root}/runs`, reportsDir: `${root}/reports` };
      const pages: string[] = [];
      for (const name of ["attention-ablation", "timesteps", "mnist-dynamic"]) {
        pages.push((await renderExperimentReport(name, opts)).path);
      }
      // The interactive variant of one report (vega-embed replaces each static SVG in the page).
      await renderExperimentReport("timesteps", {
        ...opts,
        reportsDir: `${root}/interactive`,
        interactive: true,
      });
      await Deno.rename(`${root}/interactive/timesteps.html`, `${root}/reports/timesteps-interactive.html`);
      pages.push(`${root}/reports/timesteps-interactive.html`, (await renderIndex(opts.reportsDir)).path);
      const results = await checkReportsInBrowser(pages, { screenshotDir: screenshotDir() });
      for (const r of results) {
        console.log(`screenshot: ${r.screenshot} (${r.charts} charts, ${r.images} images)`);
        assertEquals(r.problems, [], r.file);
      }
      const byName = (n: string) => results.find((r) => r.file.endsWith(`/${n}.html`))!;
      assertEquals(byName("attention-ablation").charts, 7);
      assertEquals(byName("attention-ablation").images, 12);
      assertEquals(byName("timesteps-interactive").charts, byName("timesteps").charts);
      assertGreater(byName("timesteps").charts, 8);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "the browser check fails the deliberately broken report on each of its faults",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "redraw-browser-broken-" });
    try {
      const [r] = await checkReportsInBrowser([BROKEN], { screenshotDir: dir });
      const has = (s: string) =>
        assert(r.problems.some((p) => p.includes(s)), `expected "${s}" in:\n${r.problems.join("\n")}`);
      has("page error: deliberate page error");
      has("chart-1: the SVG draws no marks");
      has("chart-1: the SVG contains NaN");
      has("chart-2: no SVG");
      has("image 1 (bad data URI) did not load");
      has("image 2 (network image) did not load");
      has("request failed or blocked: https://example.com/not-offline.png");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
