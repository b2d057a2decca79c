/**
 * Opens report pages in a real headless Chromium with every network request blocked and checks what only
 * a browser can see: no page error, every chart drew an SVG with content, every image loaded. Saves a
 * full-page screenshot of each page.
 *
 * Needs Chromium (Debian: `apt-get install chromium`, at /usr/bin/chromium) and `playwright-core`.
 * @module
 */
import type { chromium as Chromium } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The flags the browser runs with (playwright adds `--user-data-dir` from the profile folder). */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The outcome for one page. */
export interface PageCheck {
  file: string;
  /** Everything wrong with the page; empty when it passed. */
  problems: string[];
  /** Charts found (figures with an id) and images found. */
  charts: number;
  images: number;
  /** Path of the saved screenshot, when one was asked for. */
  screenshot: string | null;
}

/** Options of {@linkcode checkReportsInBrowser}. */
export interface BrowserCheckOptions {
  /** Folder for `<page name>.png` screenshots; none when absent. */
  screenshotDir?: string;
  chromiumPath?: string;
  /** Viewport width in CSS pixels (default 1280). */
  width?: number;
}

/**
 * Loads playwright-core. Its bundled `is-wsl` probes /proc/sys/fs/binfmt_misc/WSLInterop at load time,
 * which Deno allows only under --allow-all; with `__IS_WSL_TEST__` set the probe is deferred to the code
 * that opens URLs in a desktop browser on WSL, which this module never calls. So the named `test`
 * permission set (read, write, env, sys, run) suffices.
 */
async function loadChromium(): Promise<typeof Chromium> {
  if (!Deno.env.get("__IS_WSL_TEST__")) Deno.env.set("__IS_WSL_TEST__", "1");
  return (await import("playwright-core")).chromium;
}

/** Returns true when a Chromium executable exists at `path`. */
export function hasChromium(path = CHROMIUM_PATH): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Checks each page (absolute or relative paths of HTML files) with one browser.
 */
export async function checkReportsInBrowser(
  files: readonly string[],
  opts: BrowserCheckOptions = {},
): Promise<PageCheck[]> {
  const chromium = await loadChromium();
  const profile = await Deno.makeTempDir({ prefix: "redraw-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.chromiumPath ?? CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: opts.width ?? 1280, height: 900 },
    offline: true,
  });
  const results: PageCheck[] = [];
  try {
    await context.route("**/*", (route) => {
      const url = route.request().url();
      return url.startsWith("file:") || url.startsWith("data:")
        ? route.continue()
        : route.abort("blockedbyclient");
    });
    if (opts.screenshotDir) await Deno.mkdir(opts.screenshotDir, { recursive: true });
    for (const file of files) results.push(await checkPage(context, file, opts.screenshotDir));
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
  return results;
}

type Context = Awaited<ReturnType<typeof Chromium.launchPersistentContext>>;

/** The few DOM types the in-page checks use (this file is type-checked without the DOM library). */
interface El {
  id: string;
  outerHTML: string;
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  getBoundingClientRect(): { width: number; height: number };
}
interface Img {
  complete: boolean;
  naturalWidth: number;
  alt: string;
}
interface Doc {
  querySelectorAll(sel: string): ArrayLike<El>;
  images: ArrayLike<Img>;
}

async function checkPage(context: Context, file: string, screenshotDir?: string): Promise<PageCheck> {
  const problems: string[] = [];
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("requestfailed", (r) => {
    if (!r.url().startsWith("data:")) problems.push(`request failed or blocked: ${r.url().slice(0, 120)}`);
  });
  const abs = await Deno.realPath(file);
  await page.goto(new URL(`file://${abs}`).href, { waitUntil: "load" });
  const interactive = await page.evaluate(() =>
    typeof (globalThis as { vegaEmbed?: unknown }).vegaEmbed === "function"
  );
  if (interactive) {
    // vega-embed replaces each static SVG asynchronously; wait until every chart holds its embed.
    await page.waitForFunction(
      () => {
        const d = (globalThis as unknown as { document: Doc }).document;
        return Array.from(d.querySelectorAll("figure.chart[id] .svg-wrap")).every((w) =>
          w.querySelector(".vega-embed svg")
        );
      },
      undefined,
      { timeout: 15_000 },
    ).catch(() => problems.push("interactive charts did not render within 15 s"));
  }
  const found = await page.evaluate(() => {
    const d = (globalThis as unknown as { document: Doc }).document;
    const out: string[] = [];
    const figs = Array.from(d.querySelectorAll("figure.chart[id]"));
    for (const f of figs) {
      const svg = f.querySelector(".svg-wrap svg");
      if (!svg) {
        out.push(`${f.id}: no SVG`);
        continue;
      }
      const box = svg.getBoundingClientRect();
      const marks = svg.querySelectorAll(
        ".role-mark path, .role-mark line, .role-mark rect, .role-mark circle, .role-mark text",
      ).length;
      if (box.width < 10 || box.height < 10) out.push(`${f.id}: the SVG is ${box.width}x${box.height}`);
      if (marks === 0) out.push(`${f.id}: the SVG draws no marks`);
      if (svg.outerHTML.includes("NaN")) out.push(`${f.id}: the SVG contains NaN`);
    }
    const imgs = Array.from(d.images);
    imgs.forEach((img, i) => {
      if (!img.complete || img.naturalWidth === 0) {
        out.push(`image ${i + 1} (${img.alt || "no alt"}) did not load`);
      }
    });
    return { problems: out, charts: figs.length, images: imgs.length };
  });
  problems.push(...found.problems);
  let screenshot: string | null = null;
  if (screenshotDir) {
    screenshot = `${screenshotDir}/${file.split("/").pop()!.replace(/\.html$/, "")}.png`;
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  await page.close();
  return { file, problems, charts: found.charts, images: found.images, screenshot };
}
