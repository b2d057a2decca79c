/**
 * What a run folder says about its run, read without trusting it: a missing folder is `pending`, a
 * `result.json` gives the final status, a manifest without a result is an unfinished run (`incomplete`,
 * which the trainer resumes), and anything unreadable or foreign is `unreadable` with the reason.
 * @module
 */
import type { Result, RunStatus } from "../record/types.ts";

/** A run folder's state as the runner sees it. */
export type RunState =
  | { kind: "pending" }
  | { kind: "incomplete"; manifestStatus: RunStatus | null }
  | { kind: "finished"; status: RunStatus; result: Result; reason: string | null }
  | { kind: "unreadable"; reason: string };

const STATUSES: readonly string[] = ["running", "completed", "failed", "interrupted"];

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Reads `<dir>/result.json` (and `manifest.json` when there is no result).
 */
export async function readRunState(dir: string, runId?: string): Promise<RunState> {
  let resultText: string | null;
  try {
    resultText = await readText(`${dir}/result.json`);
  } catch (e) {
    return { kind: "unreadable", reason: `${dir}/result.json could not be read: ${(e as Error).message}` };
  }
  if (resultText !== null) {
    let r: unknown;
    try {
      r = JSON.parse(resultText);
    } catch (e) {
      return { kind: "unreadable", reason: `${dir}/result.json is not valid JSON (${(e as Error).message})` };
    }
    const o = r as Partial<Result> | null;
    if (typeof o !== "object" || o === null || !STATUSES.includes(o.status as string)) {
      return { kind: "unreadable", reason: `${dir}/result.json has no valid "status"` };
    }
    if (runId !== undefined && o.runId !== runId) {
      return {
        kind: "unreadable",
        reason: `${dir}/result.json belongs to run ${JSON.stringify(o.runId)}, not ${runId}`,
      };
    }
    return {
      kind: "finished",
      status: o.status as RunStatus,
      result: o as Result,
      reason: await manifestReason(dir),
    };
  }
  let manifestText: string | null;
  try {
    manifestText = await readText(`${dir}/manifest.json`);
  } catch {
    manifestText = null;
  }
  if (manifestText === null) {
    try {
      await Deno.stat(dir);
      return { kind: "incomplete", manifestStatus: null };
    } catch {
      return { kind: "pending" };
    }
  }
  try {
    const m = JSON.parse(manifestText) as { status?: string };
    return {
      kind: "incomplete",
      manifestStatus: STATUSES.includes(m.status as string) ? m.status as RunStatus : null,
    };
  } catch {
    // A manifest is written atomically; an unparsable one is foreign, but the trainer decides what to do.
    return { kind: "incomplete", manifestStatus: null };
  }
}

/** The manifest's `reason` (why a run failed or was interrupted), or null. */
async function manifestReason(dir: string): Promise<string | null> {
  try {
    const m = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as { reason?: unknown };
    return typeof m.reason === "string" ? m.reason : null;
  } catch {
    return null;
  }
}

/** A one-word status for tables: `completed`, `failed`, `interrupted`, `incomplete`, `pending`, `unreadable`. */
export function stateWord(s: RunState): string {
  if (s.kind === "finished") return s.status;
  return s.kind;
}
