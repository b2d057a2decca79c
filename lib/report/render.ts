/**
 * The file side of the report: reads run records from `runs/<experiment>/*`, writes
 * `reports/<experiment>.html` and `reports/index.html`. Rendering itself is pure (lib/report/html.ts).
 * @module
 */
import { experimentReportHtml, type ReportDigest } from "./html.ts";
import { type IndexEntry, indexHtml } from "./index_page.ts";
import { checkExperimentName as checkRunsExperimentName } from "../record/runs.ts";
import { type ExperimentResults, readResults } from "./results.ts";
import { writeFileAtomic } from "../record/io.ts";
import type { PaperTargets } from "../config/paper.ts";

/** Options of {@linkcode renderExperimentReport}. */
export interface RenderReportOptions {
  /** Folder holding `<experiment>/<run-id>/` run folders. */
  runsDir: string;
  /** Folder the report is written to (created if missing). */
  reportsDir: string;
  /** Inline vega, vega-lite and vega-embed so that charts are interactive (adds about 0.7 MB). */
  interactive?: boolean;
  /** Table 2 rows to compare with (the experiment file's `paperTargets`). */
  paperTargets?: PaperTargets;
  /** The experiment's description, shown under the title. */
  description?: string;
  /** Reference time for stale-heartbeat detection and "generated at" (default: now). */
  now?: Date;
  /** The experiment's results when the caller has read them already (exp's summary); read here otherwise. */
  results?: ExperimentResults;
}

/** What was written. */
export interface RenderedReport {
  path: string;
  bytes: number;
  /** Number of charts rendered. */
  charts: number;
  /** Chart warnings (each names the chart); empty for a correct report. */
  warnings: string[];
}

/** The UMD builds inlined by `--interactive`, relative to this file (npm packages in node_modules/). */
const INTERACTIVE_BUILDS = [
  "../../node_modules/vega/build/vega.min.js",
  "../../node_modules/vega-lite/build/vega-lite.min.js",
  "../../node_modules/vega-embed/build/vega-embed.min.js",
];

/** Reads the vega, vega-lite and vega-embed browser builds for the interactive mode. */
export async function loadInteractiveScripts(): Promise<string[]> {
  const out: string[] = [];
  for (const rel of INTERACTIVE_BUILDS) {
    const url = new URL(rel, import.meta.url);
    try {
      out.push(await Deno.readTextFile(url));
    } catch (e) {
      throw new Error(
        `Cannot read ${url.pathname} for --interactive (${
          (e as Error).message
        }); run \`deno install\` to populate node_modules/`,
      );
    }
  }
  return out;
}

/**
 * Refuses experiment names that cannot be a folder and report file name: lib/record's rule (letters, digits,
 * "_", "-", "."; no ".." or separators), and "index", which is the index page.
 */
export function checkExperimentName(name: string): void {
  checkRunsExperimentName(name);
  if (name === "index") throw new Error(`Experiment name "index" is taken by the reports' index page`);
}

/**
 * Writes a file atomically with lib/record's writer (a dot-named temporary file beside it, fsync, rename), so
 * that a crash leaves the old report or the new one, and at most a temporary file every reader ignores.
 */
export async function writeAtomic(path: string, text: string): Promise<number> {
  const bytes = new TextEncoder().encode(text);
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/**
 * Reads an experiment's run records and writes `reportsDir/<experiment>.html`.
 */
export async function renderExperimentReport(
  experiment: string,
  opts: RenderReportOptions,
): Promise<RenderedReport> {
  checkExperimentName(experiment);
  const now = opts.now ?? new Date();
  const { runs, unreadable, arms } = opts.results ??
    await readResults(opts.runsDir, experiment, opts.paperTargets, now);
  if (runs.length === 0 && unreadable.length === 0) {
    throw new Error(
      `No run folders under ${opts.runsDir}/${experiment}/: run \`deno task exp ${experiment}\` first`,
    );
  }
  const { html, charts } = await experimentReportHtml(experiment, runs, {
    arms,
    unreadable,
    description: opts.description,
    interactiveScripts: opts.interactive ? await loadInteractiveScripts() : undefined,
    generatedAt: now,
  });
  await Deno.mkdir(opts.reportsDir, { recursive: true });
  const path = `${opts.reportsDir}/${experiment}.html`;
  const bytes = await writeAtomic(path, html);
  return {
    path,
    bytes,
    charts: charts.length,
    warnings: charts.flatMap((c) => c.warnings.map((w) => `${c.title}: ${w}`)),
  };
}

const DIGEST_RE = /<meta name="redraw-report" content="([^"]*)">/;

function unescapeAttr(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(
    /&amp;/g,
    "&",
  );
}

/** Reads the digest a report embeds (null for a page without one or with a damaged one). */
export function readDigest(html: string): ReportDigest | null {
  const m = DIGEST_RE.exec(html);
  if (!m) return null;
  try {
    return JSON.parse(unescapeAttr(m[1])) as ReportDigest;
  } catch {
    return null;
  }
}

/**
 * Writes `reportsDir/index.html` linking every other `.html` file in the folder, with its verdicts.
 */
export async function renderIndex(
  reportsDir: string,
  now = new Date(),
): Promise<{ path: string; bytes: number }> {
  const entries: IndexEntry[] = [];
  await Deno.mkdir(reportsDir, { recursive: true });
  for await (const e of Deno.readDir(reportsDir)) {
    if (!e.isFile || !e.name.endsWith(".html") || e.name === "index.html") continue;
    const text = await Deno.readTextFile(`${reportsDir}/${e.name}`);
    entries.push({ file: e.name, bytes: new TextEncoder().encode(text).length, digest: readDigest(text) });
  }
  const path = `${reportsDir}/index.html`;
  return { path, bytes: await writeAtomic(path, indexHtml(entries, now)) };
}
