/**
 * `deno task report [NAME ...] [--runs-dir DIR] [--reports-dir DIR] [--experiments-dir DIR] [--interactive]`
 *
 * Renders `reports/<NAME>.html` from the run records in `runs/<NAME>/`, then `reports/index.html`. Without
 * a name, every experiment folder in the runs folder is rendered. When `experiments/<NAME>.ts` exists, its
 * `paperTargets` and `description` are used.
 * @module
 */
import { parseArgs } from "@std/cli";
import { fmtBytes } from "./escape.ts";
import { renderExperimentReport, renderIndex } from "./render.ts";
import { checkPaperTargets, type PaperTargets } from "../config/paper.ts";
import { DEFAULT_REPORTS_DIR, DEFAULT_RUNS_DIR } from "../config/run.ts";

const USAGE = `Usage: deno task report [NAME ...] [options]

Renders reports/<NAME>.html from runs/<NAME>/*/ and updates reports/index.html.
Without NAME, renders every experiment folder found in the runs folder.

Options:
  --runs-dir DIR         where run folders are (default: runs)
  --reports-dir DIR      where reports are written (default: reports)
  --experiments-dir DIR  where experiment files are, for paperTargets and description (default: experiments)
  --interactive          inline vega, vega-lite and vega-embed (about 0.7 MB) for interactive charts
  -h, --help             show this help`;

/** What an experiment file may tell the report. */
interface ExperimentInfo {
  paperTargets?: PaperTargets;
  description?: string;
  warnings: string[];
}

async function experimentInfo(dir: string, name: string): Promise<ExperimentInfo> {
  const path = `${dir}/${name}.ts`;
  try {
    await Deno.stat(path);
  } catch {
    return { warnings: [] };
  }
  try {
    const mod = await import(new URL(path, `file://${Deno.cwd()}/`).href);
    const exp = (mod.default ?? {}) as { paperTargets?: unknown; description?: unknown };
    const warnings: string[] = [];
    let paperTargets: PaperTargets | undefined;
    if (exp.paperTargets !== undefined) {
      const problems = checkPaperTargets(exp.paperTargets);
      if (problems.length) warnings.push(...problems.map((p) => `${path}: ${p}; using the default targets`));
      else paperTargets = exp.paperTargets as PaperTargets;
    }
    return {
      paperTargets,
      description: typeof exp.description === "string" ? exp.description : undefined,
      warnings,
    };
  } catch (e) {
    return { warnings: [`${path} could not be loaded (${(e as Error).message}); using the default targets`] };
  }
}

async function experimentFolders(runsDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(runsDir)) {
      if (e.isDirectory && !e.name.startsWith(".")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`The runs folder ${runsDir} does not exist`);
    throw e;
  }
  return names.sort();
}

/**
 * Runs the command with `args`; returns the exit status (0: every report written without chart warnings).
 */
export async function main(args: string[]): Promise<number> {
  const unknown: string[] = [];
  const a = parseArgs(args, {
    string: ["runs-dir", "reports-dir", "experiments-dir"],
    boolean: ["interactive", "help"],
    alias: { h: "help" },
    default: {
      "runs-dir": DEFAULT_RUNS_DIR,
      "reports-dir": DEFAULT_REPORTS_DIR,
      "experiments-dir": "experiments",
    },
    unknown: (arg: string) => {
      if (arg.startsWith("-")) {
        unknown.push(arg);
        return false;
      }
      return true;
    },
  });
  if (a.help) {
    console.log(USAGE);
    return 0;
  }
  if (unknown.length) {
    console.error(`Unknown option ${unknown.join(", ")}\n\n${USAGE}`);
    return 2;
  }
  const runsDir = String(a["runs-dir"]);
  const reportsDir = String(a["reports-dir"]);
  let status = 0;
  try {
    const names = a._.length ? a._.map(String) : await experimentFolders(runsDir);
    if (names.length === 0) console.error(`No experiment folders in ${runsDir}/`);
    for (const name of names) {
      const info = await experimentInfo(String(a["experiments-dir"]), name);
      for (const w of info.warnings) console.error(`warning: ${w}`);
      try {
        const r = await renderExperimentReport(name, {
          runsDir,
          reportsDir,
          interactive: Boolean(a.interactive),
          paperTargets: info.paperTargets,
          description: info.description,
        });
        console.log(`wrote ${r.path} (${fmtBytes(r.bytes)}, ${r.charts} charts)`);
        for (const w of r.warnings) console.error(`chart warning: ${w}`);
        if (r.warnings.length) status = 1;
      } catch (e) {
        console.error(`error: ${name}: ${(e as Error).message}`);
        status = 1;
      }
    }
    const idx = await renderIndex(reportsDir);
    console.log(`wrote ${idx.path} (${fmtBytes(idx.bytes)})`);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
  return status;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
