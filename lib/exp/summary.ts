/**
 * The end-of-experiment summary: one row per planned run (cell, seed, status, test bound, IWAE, paper
 * value, wall time) plus a mean over seeds per cell. It is a view of the report's results
 * (lib/report/results.ts): the runs, arms and means are the ones the report page shows, read once. Printed as
 * a text table and written to `reports/<experiment>.summary.json` and `.md` (atomically: temporary file, then
 * rename, so that several shards finishing together never leave a torn file).
 * @module
 */
import { writeFileAtomic as writeRecordAtomic } from "../record/io.ts";
import type { Estimate } from "../record/types.ts";
import type { PaperTarget } from "../config/paper.ts";
import type { Spread } from "../report/stats.ts";
import type { RunRecord } from "../report/records.ts";
import type { ExperimentResults } from "../report/results.ts";
import { type ArmSummary, paperRowFor, testEval } from "../report/summary.ts";
import { formatDuration, formatEstimate, mdCell, textTable } from "./format.ts";
import type { PlannedRun } from "./grid.ts";
import { runDirOf } from "./runner.ts";
import type { Experiment } from "./validate.ts";

/** Version of the summary file format. */
export const SUMMARY_FORMAT_VERSION = 1;

/** One run in the summary. */
export interface SummaryRow {
  runId: string;
  label: string;
  cell: Record<string, unknown>;
  seed: number;
  /** `completed`, `failed`, `interrupted`, `incomplete`, `pending` or `unreadable`. */
  status: string;
  testBound: Estimate | null;
  iwae: (Estimate & { k: number }) | null;
  paper: PaperTarget | null;
  /** Seconds of training recorded by the run. */
  wallTime: number | null;
  steps: number | null;
  runDir: string;
}

/**
 * A cell over its seeds: mean and standard deviation of the test bounds of its arm's completed runs (every
 * completed run of the cell's configuration in the runs folder, as in the report).
 */
export interface SummaryGroup {
  label: string;
  cell: Record<string, unknown>;
  runs: number;
  completed: number;
  testBound: { mean: number; sd: number; n: number } | null;
  iwae: { mean: number; sd: number; n: number } | null;
  paper: PaperTarget | null;
}

/** `reports/<experiment>.summary.json`. */
export interface ExperimentSummary {
  formatVersion: number;
  experiment: string;
  description: string;
  profile: string;
  generatedAt: string;
  runsDir: string;
  counts: Record<string, number>;
  rows: SummaryRow[];
  groups: SummaryGroup[];
}

/** A spread over seeds in the summary file's field names. */
function meanSd(s: Spread | null): { mean: number; sd: number; n: number } | null {
  return s && { mean: s.mean, sd: s.std, n: s.n };
}

/** The last path segment: run folders are named by run id. */
function baseName(dir: string): string {
  return dir.replace(/\/+$/, "").split("/").pop() ?? "";
}

/** A planned run's status word from the results: a finished run's status, else how far it got. */
function statusOf(record: RunRecord | undefined, unreadable: { hasManifest: boolean } | undefined): string {
  if (record) return record.result?.status ?? "incomplete";
  if (unreadable) return unreadable.hasManifest ? "unreadable" : "incomplete";
  return "pending";
}

/**
 * The summary of every planned run (all shards, not only this process's), drawn from the experiment's
 * results (lib/report/results.ts `readResults`), which the caller reads once and also hands to the report.
 */
export function collectSummary(
  exp: Experiment,
  profile: string,
  plan: readonly PlannedRun[],
  runsDir: string,
  results: ExperimentResults,
  generatedAt = new Date(),
): ExperimentSummary {
  const records = new Map(results.runs.map((r) => [r.manifest.runId, r]));
  const unreadable = new Map(results.unreadable.map((u) => [baseName(u.dir), u]));
  const targets = exp.paperTargets ?? [];
  const rows: SummaryRow[] = plan.map((run) => {
    const record = records.get(run.runId);
    const result = record?.result ?? null;
    const test = result ? testEval(record!) : null;
    return {
      runId: run.runId,
      label: run.label,
      cell: run.cell as Record<string, unknown>,
      seed: run.seed,
      status: statusOf(record, unreadable.get(run.runId)),
      testBound: test?.bound ?? null,
      iwae: test?.iwae ?? null,
      paper: paperRowFor(run.cell, run.config, targets).target,
      wallTime: typeof result?.wallTime === "number" ? result.wallTime : null,
      steps: typeof result?.steps === "number" ? result.steps : null,
      runDir: runDirOf(runsDir, exp.name, run.runId),
    };
  });
  const armOf = (runIds: Set<string>): ArmSummary | undefined =>
    results.arms.find((a) => a.runs.some((r) => runIds.has(r.manifest.runId)));
  const groups: SummaryGroup[] = [];
  for (const row of rows) {
    if (groups.some((g) => g.label === row.label)) continue;
    const same = rows.filter((x) => x.label === row.label);
    const arm = armOf(new Set(same.map((x) => x.runId)));
    groups.push({
      label: row.label,
      cell: row.cell,
      runs: same.length,
      completed: same.filter((x) => x.status === "completed").length,
      testBound: meanSd(arm?.bound ?? null),
      iwae: meanSd(arm?.iwae ?? null),
      paper: row.paper,
    });
  }
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return {
    formatVersion: SUMMARY_FORMAT_VERSION,
    experiment: exp.name,
    description: exp.description,
    profile,
    generatedAt: generatedAt.toISOString(),
    runsDir,
    counts,
    rows,
    groups,
  };
}

function paperText(p: PaperTarget | null): string {
  return p ? `${p.nats.toFixed(2)} (${p.row})` : "-";
}

function rowCells(r: SummaryRow): string[] {
  const iwae = r.iwae ? `${formatEstimate(r.iwae)} (k=${r.iwae.k})` : "-";
  return [
    r.label,
    String(r.seed),
    r.status,
    formatEstimate(r.testBound),
    iwae,
    paperText(r.paper),
    formatDuration(r.wallTime),
  ];
}

const HEADER = ["cell", "seed", "status", "test bound (nats)", "IWAE (nats)", "paper (nats)", "wall time"];

function groupCells(g: SummaryGroup): string[] {
  const ms = (x: { mean: number; sd: number; n: number } | null) =>
    x ? `${x.mean.toFixed(2)}${x.n > 1 ? ` ± ${x.sd.toFixed(2)} sd` : ""}` : "-";
  return [g.label, `${g.completed}/${g.runs}`, ms(g.testBound), ms(g.iwae), paperText(g.paper)];
}

const GROUP_HEADER = ["cell", "seeds done", "test bound mean", "IWAE mean", "paper"];

/** The summary as plain text for the terminal. */
export function summaryText(s: ExperimentSummary): string {
  const counts = Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(", ");
  const parts = [
    `${s.experiment} (profile ${s.profile}): ${counts}`,
    "",
    textTable(HEADER, s.rows.map(rowCells)),
  ];
  if (s.groups.length < s.rows.length) parts.push("", textTable(GROUP_HEADER, s.groups.map(groupCells)));
  return parts.join("\n");
}

/** The summary as Markdown (cells escaped for tables and HTML). */
export function summaryMarkdown(s: ExperimentSummary): string {
  const table = (h: string[], rows: string[][]) =>
    [
      `| ${h.join(" | ")} |`,
      `|${h.map(() => " --- ").join("|")}|`,
      ...rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`),
    ].join("\n");
  const counts = Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(", ");
  return [
    `# ${mdCell(s.experiment)}: summary (profile ${mdCell(s.profile)})`,
    "",
    mdCell(s.description),
    "",
    `Runs: ${counts}. Generated ${s.generatedAt} from \`${mdCell(s.runsDir)}\`. ` +
    "Bounds are test-set negative log-likelihood bounds in nats per image (lower is better); ± is the standard error.",
    "",
    table(HEADER, s.rows.map(rowCells)),
    "",
    "## Mean over seeds",
    "",
    table(GROUP_HEADER, s.groups.map(groupCells)),
    "",
  ].join("\n");
}

/**
 * Writes `path` atomically with lib/record's writer (a dot-named temporary file beside it, fsync, rename),
 * so that a crash leaves the old file or the new one, and at most a temporary file every reader ignores.
 */
export function writeFileAtomic(path: string, text: string): Promise<void> {
  return writeRecordAtomic(path, text);
}

/** Writes `<reportsDir>/<experiment>.summary.json` and `.md`; returns their paths. */
export async function writeSummary(
  s: ExperimentSummary,
  reportsDir: string,
): Promise<{ json: string; md: string }> {
  await Deno.mkdir(reportsDir, { recursive: true });
  const base = `${reportsDir.replace(/\/+$/, "") || "."}/${s.experiment}.summary`;
  await writeFileAtomic(`${base}.json`, JSON.stringify(s, null, 2) + "\n");
  await writeFileAtomic(`${base}.md`, summaryMarkdown(s));
  return { json: `${base}.json`, md: `${base}.md` };
}
