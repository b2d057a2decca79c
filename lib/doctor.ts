/**
 * `deno task doctor`: what this machine offers redraw. Deno and tfjs versions, which backends initialise
 * (and why not), the WebGPU adapter, where data is looked for and which files are present and verified,
 * and free disk space for the runs folder.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND_REQUESTS, initBackend, webgpuAdapter } from "./backend.ts";
import {
  DATA_FILES,
  locateFile,
  locateShipped,
  recordedPath,
  resolveDataDirSource,
  shippedDir,
  streamContent,
} from "./data/mod.ts";

/** One line of the report. */
export interface DoctorLine {
  topic: string;
  ok: boolean;
  detail: string;
}

async function backends(): Promise<DoctorLine[]> {
  const out: DoctorLine[] = [];
  for (const b of BACKEND_REQUESTS) {
    if (b === "auto") continue;
    try {
      const info = await initBackend(b);
      out.push({ topic: `backend ${b}`, ok: true, detail: info.device });
    } catch (e) {
      out.push({ topic: `backend ${b}`, ok: false, detail: String((e as Error).message) });
    }
  }
  const adapter = await webgpuAdapter();
  out.push({
    topic: "WebGPU adapter",
    ok: adapter !== null,
    detail: adapter
      ? `${adapter.description}${adapter.software ? " (software: `auto` will not pick it)" : ""}`
      : "none (install a Vulkan driver; Debian: mesa-vulkan-drivers for a software adapter)",
  });
  return out;
}

async function dataFiles(dataDir: string | undefined, verify: boolean): Promise<DoctorLine[]> {
  const { dir, source } = resolveDataDirSource({ dataDir });
  const out: DoctorLine[] = [{ topic: "data dir", ok: true, detail: `${dir} (${source})` }];
  for (const spec of Object.values(DATA_FILES)) {
    // The same order as a load: the data dir, then the copy shipped in data/ (binarized MNIST).
    const path = await locateFile(dir, spec)
      .then(async (p) => p ?? await locateShipped(shippedDir(), spec))
      .catch((e) => {
        out.push({ topic: spec.name, ok: false, detail: (e as Error).message });
        return undefined;
      });
    if (path === undefined) continue;
    if (path === null) {
      out.push({
        topic: spec.name,
        ok: false,
        detail: spec.subdir === "mnist"
          ? `missing (needed only for --dataset mnist; --download fetches it; SHA-256 ${spec.sha256})`
          : `missing, the shipped copy too (restore it with \`git checkout -- data/\`; SHA-256 ${spec.sha256})`,
      });
      continue;
    }
    const shown = recordedPath(path);
    if (!verify) {
      out.push({ topic: spec.name, ok: true, detail: `${shown} (not verified: --no-verify)` });
      continue;
    }
    const info = await streamContent(path, () => {}).catch((e) => ({ error: (e as Error).message }));
    if ("error" in info) out.push({ topic: spec.name, ok: false, detail: `${shown}: ${info.error}` });
    else if (info.sha256 !== spec.sha256) {
      out.push({
        topic: spec.name,
        ok: false,
        detail: `${shown}: SHA-256 ${info.sha256}, expected ${spec.sha256}`,
      });
    } else out.push({ topic: spec.name, ok: true, detail: `${shown} verified` });
  }
  return out;
}

function disk(path: string): DoctorLine {
  try {
    const cmd = new Deno.Command("df", { args: ["-Pk", path], stdout: "piped", stderr: "null" }).outputSync();
    const line = new TextDecoder().decode(cmd.stdout).trim().split("\n").at(-1) ?? "";
    const availKb = Number(line.split(/\s+/)[3]);
    if (!Number.isFinite(availKb)) throw new Error("df gave no number");
    return {
      topic: "free disk (runs)",
      ok: availKb > 1024 * 1024,
      detail: `${(availKb / 1024 / 1024).toFixed(1)} GiB at ${path}`,
    };
  } catch (e) {
    return { topic: "free disk (runs)", ok: false, detail: `unknown (${(e as Error).message})` };
  }
}

/** Runs every check. */
export async function doctor(
  opts: { dataDir?: string; verify?: boolean; runsDir?: string } = {},
): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [
    {
      topic: "Deno",
      ok: true,
      detail: `${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    },
    { topic: "tfjs", ok: tf.version.tfjs === "4.22.0", detail: tf.version.tfjs },
  ];
  lines.push(...await backends());
  lines.push(...await dataFiles(opts.dataDir, opts.verify ?? true));
  lines.push(disk(opts.runsDir ?? "."));
  return lines;
}

/** The usage text (`--help`). */
export const DOCTOR_USAGE = `Usage: deno task doctor [--data-dir DIR] [--no-verify]

Prints what this machine offers redraw: Deno and tfjs versions, which backends initialise (and why not), the
WebGPU adapter, where data is looked for and which files are present and verified, and free disk space.

Options:
  --data-dir DIR   dataset folder to inspect (default: REDRAW_DATA_DIR, else the cache)
  --no-verify      list the data files without hashing them
  -h, --help       this text`;

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(DOCTOR_USAGE);
    Deno.exit(0);
  }
  const dataIdx = args.indexOf("--data-dir");
  const bad = args.find((a, i) => !["--data-dir", "--no-verify"].includes(a) && args[i - 1] !== "--data-dir");
  if (bad) {
    console.error(
      `doctor: unknown argument ${
        JSON.stringify(bad)
      } (usage: deno task doctor [--data-dir DIR] [--no-verify]; see --help)`,
    );
    Deno.exit(2);
  }
  const lines = await doctor({
    dataDir: dataIdx >= 0 ? args[dataIdx + 1] : undefined,
    verify: !args.includes("--no-verify"),
  });
  for (const l of lines) console.log(`${l.ok ? "ok  " : "FAIL"}  ${l.topic.padEnd(28)} ${l.detail}`);
}
