/**
 * The bench results file (`bench/results/<date>-<host>.json`): its types, merging, statistics and the
 * Markdown table printed by `deno task bench`. No tfjs here, so it is cheap to test.
 * @module
 */

/** Where the numbers were measured. */
export interface MachineInfo {
  host: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number | null;
  os: string;
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
  git: { commit: string; dirty: boolean } | null;
}

/** One (config, backend) measurement. */
export interface BenchRun {
  config: string;
  backend: string;
  device?: string;
  batch: number;
  /** tfjs-wasm threads (null on other backends). */
  threads: number | null;
  /** Gradient implementation asked for (`auto` = fused kernels on wasm and cpu). */
  impl: string;
  /** Free-form label (`--label`), part of a run's identity so that repeated comparisons can coexist. */
  label?: string;
  /** Training images per second at the median step time. */
  imagesPerSec: number;
  msPerStep: number;
  msPerStepMin: number;
  msPerStepMax: number;
  msPerStepP25: number;
  msPerStepP75: number;
  timedSteps: number;
  warmupSteps: number;
  /** tfjs kernels per training step; on webgpu, GPU dispatches per training step (tfjs's and redraw's). */
  kernelsPerStep: number;
  /** webgpu with timestamp queries: GPU time of the profiled step (sum over its dispatches), ms; else null. */
  gpuMsPerStep?: number | null;
  /** webgpu: largest GPU memory held by tfjs after a timed step, bytes (null elsewhere). */
  peakGpuBytes?: number | null;
  /** Milliseconds per training step by tfjs kernel name (`tf.profile` of one step), largest first. */
  kernelMs?: Record<string, number>;
  evalImages: number;
  evalBatch: number;
  evalSeconds: number;
  evalImagesPerSec: number;
  wasmHeapBytes: number | null;
  /** Process RSS at the end of the run. */
  rssBytes: number;
  /** Largest RSS seen after each timed step and after evaluation. */
  maxSampledRssBytes: number;
  /** The process's peak RSS so far (VmHWM; null without /proc access). */
  peakRssBytes: number | null;
  loadavgBefore: number[];
  loadavgAfter: number[];
  finalLoss: number;
  model: Record<string, unknown>;
  at: string;
}

/** A PyTorch reference measurement (torch_draw.py, same machine, alternating with redraw). */
export interface ReferenceRun {
  config: string;
  implementation: string;
  threads: number;
  batch: number;
  imagesPerSec: number;
  msPerStep: number;
  timedSteps?: number;
  torch?: string;
  blas?: string;
  at?: string | null;
  loadavg?: number[] | null;
}

/** A (config, backend) that could not be measured. */
export interface BenchFailure {
  config: string;
  backend: string;
  error: string;
  at: string;
}

/** The results file. */
export interface Results {
  machine: MachineInfo;
  runs: BenchRun[];
  reference: ReferenceRun[];
  failures?: BenchFailure[];
  updatedAt?: string;
}

/** Median, quartiles (linear interpolation) and extremes of a sample. */
export function quantiles(
  xs: number[],
): { median: number; p25: number; p75: number; min: number; max: number } {
  if (xs.length === 0) throw new RangeError("quantiles() needs at least one value, got an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = (s.length - 1) * q;
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return { median: at(0.5), p25: at(0.25), p75: at(0.75), min: s[0], max: s[s.length - 1] };
}

function runKey(r: BenchRun): string {
  return [r.config, r.backend, r.batch, r.threads ?? "-", r.impl, r.label ?? ""].join("|");
}

/**
 * Merges new runs into an earlier results file of the same day and host: a new run replaces an old one with
 * the same config, backend, batch, threads, impl and label; reference runs are appended unless already
 * present (same config, threads, time and rate); failures are replaced per (config, backend).
 */
export function mergeResults(previous: Results | null, next: Results): Results {
  const runs = new Map<string, BenchRun>();
  for (const r of previous?.runs ?? []) runs.set(runKey(r), r);
  for (const r of next.runs) runs.set(runKey(r), r);
  const refKey = (r: ReferenceRun) => [r.config, r.threads, r.at ?? "", r.imagesPerSec].join("|");
  const reference = new Map<string, ReferenceRun>();
  for (const r of [...(previous?.reference ?? []), ...next.reference]) reference.set(refKey(r), r);
  const failures = new Map<string, BenchFailure>();
  for (const f of [...(previous?.failures ?? []), ...(next.failures ?? [])]) {
    failures.set(`${f.config}|${f.backend}`, f);
  }
  for (const r of next.runs) failures.delete(`${r.config}|${r.backend}`);
  return {
    machine: next.machine,
    runs: [...runs.values()].sort((a, b) => runKey(a).localeCompare(runKey(b))),
    reference: [...reference.values()],
    ...(failures.size ? { failures: [...failures.values()] } : {}),
    updatedAt: new Date().toISOString(),
  };
}

/** The best PyTorch images/s per config (over thread counts), from the reference runs. */
export function bestReference(reference: ReferenceRun[]): Map<string, ReferenceRun> {
  const best = new Map<string, ReferenceRun>();
  for (const r of reference) {
    const b = best.get(r.config);
    if (!b || r.imagesPerSec > b.imagesPerSec) best.set(r.config, r);
  }
  return best;
}

/** The PyTorch comparison of one config: redraw's wasm runs against PyTorch's runs of the same results file. */
export interface RatioRow {
  config: string;
  /** The wasm thread count of redraw's best run; its runs at that count give the median. */
  threads: number;
  runs: number;
  best: number;
  median: number;
  /** PyTorch's best run (any thread count) and the median of its runs at that run's thread count. */
  torchBest: number;
  torchThreads: number;
  torchRuns: number;
  torchMedian: number;
  /** best / torchBest (the headline ratio) and median / torchMedian. */
  bestRatio: number;
  medianRatio: number;
}

/**
 * Per config, redraw's best wasm run (default implementation) over PyTorch's best run, and the medians of
 * each side's runs at the thread count of its best run; configs missing either side are left out.
 * @example
 * ```ts
 * const results = JSON.parse(await Deno.readTextFile("bench/results/2026-11-26-vm.json"));
 * ratioSummary(results).map((r) => `${r.config}: ${r.bestRatio.toFixed(2)}`); // ["a: 1.23", "b: 1.26", "c: 1.01"]
 * ```
 */
export function ratioSummary(r: Results): RatioRow[] {
  const rows: RatioRow[] = [];
  const configs = [...new Set(r.runs.map((x) => x.config))].sort();
  for (const config of configs) {
    const ours = r.runs.filter((x) => x.config === config && x.backend === "wasm" && x.impl === "auto");
    const theirs = r.reference.filter((x) => x.config === config);
    if (!ours.length || !theirs.length) continue;
    const top = ours.reduce((a, b) => (b.imagesPerSec > a.imagesPerSec ? b : a));
    const torchTop = theirs.reduce((a, b) => (b.imagesPerSec > a.imagesPerSec ? b : a));
    const same = ours.filter((x) => x.threads === top.threads).map((x) => x.imagesPerSec);
    const torchSame = theirs.filter((x) => x.threads === torchTop.threads).map((x) => x.imagesPerSec);
    const median = quantiles(same).median, torchMedian = quantiles(torchSame).median;
    rows.push({
      config,
      threads: top.threads ?? 1,
      runs: same.length,
      best: top.imagesPerSec,
      median,
      torchBest: torchTop.imagesPerSec,
      torchThreads: torchTop.threads,
      torchRuns: torchSame.length,
      torchMedian,
      bestRatio: top.imagesPerSec / torchTop.imagesPerSec,
      medianRatio: median / torchMedian,
    });
  }
  return rows;
}

const mib = (b: number | null) => (b === null ? "-" : (b / 2 ** 20).toFixed(0));
const f1 = (x: number) => x.toFixed(1);

/** The Markdown table of a results file: one row per run, with the ratio to PyTorch's best when known. */
export function markdownTable(r: Results): string {
  const best = bestReference(r.reference);
  const lines = [
    "| config | backend | threads | batch | label | train img/s (median) | ms/step median [min-max] | kernels/step | eval img/s | wasm heap MiB | max RSS MiB | vs PyTorch best |",
    "|---|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const x of r.runs) {
    const ref = best.get(x.config);
    const ratio = ref
      ? `${(x.imagesPerSec / ref.imagesPerSec).toFixed(2)}x (${f1(ref.imagesPerSec)}, ${ref.threads}T)`
      : "-";
    const backend = x.backend + (x.impl !== "auto" ? ` (${x.impl})` : "");
    const cells = [
      x.config,
      backend,
      x.threads ?? "-",
      x.batch,
      x.label ?? "",
      f1(x.imagesPerSec),
      `${f1(x.msPerStep)} [${f1(x.msPerStepMin)}-${f1(x.msPerStepMax)}]`,
      x.kernelsPerStep,
      f1(x.evalImagesPerSec),
      mib(x.wasmHeapBytes),
      mib(x.peakRssBytes ?? x.maxSampledRssBytes ?? null),
      ratio,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  if (r.reference.length) {
    lines.push(
      "",
      "| PyTorch reference | threads | batch | img/s | ms/step | load average |",
      "|---|---:|---:|---:|---:|---|",
    );
    for (const x of r.reference) {
      lines.push(
        `| ${x.config} | ${x.threads} | ${x.batch} | ${f1(x.imagesPerSec)} | ${f1(x.msPerStep)} | ` +
          `${x.loadavg ? x.loadavg.join(" ") : "-"} |`,
      );
    }
  }
  const ratios = ratioSummary(r);
  if (ratios.length) {
    lines.push(
      "",
      "| config | redraw wasm: threads, runs | best / median img/s | PyTorch: threads, runs | best / median img/s | best / best | median / median |",
      "|---|---|---:|---|---:|---:|---:|",
    );
    for (const x of ratios) {
      lines.push(
        `| ${x.config} | ${x.threads}T, ${x.runs} | ${f1(x.best)} / ${f1(x.median)} | ${x.torchThreads}T, ` +
          `${x.torchRuns} | ${f1(x.torchBest)} / ${f1(x.torchMedian)} | ${x.bestRatio.toFixed(3)} | ` +
          `${x.medianRatio.toFixed(3)} |`,
      );
    }
  }
  for (const f of r.failures ?? []) {
    lines.push("", `Not measured: config ${f.config} on ${f.backend}: ${f.error}`);
  }
  const m = r.machine;
  lines.push(
    "",
    `${m.cpuModel}, ${m.cores} cores, ${m.os}; Deno ${m.deno}, V8 ${m.v8}, tfjs ${m.tfjs}; ` +
      `git ${m.git ? m.git.commit.slice(0, 10) + (m.git.dirty ? " (dirty)" : "") : "unknown"}`,
  );
  return lines.join("\n");
}

/** Parses torch_draw.py's final JSON lines (one per run) into reference entries. */
export function parseReference(text: string): ReferenceRun[] {
  const out: ReferenceRun[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    const r = JSON.parse(t);
    const c = r.config ?? {};
    if (typeof r.images_per_s !== "number") continue;
    const paper = c.T === 64 && c.n_z === 100;
    const config = c.attention && c.T === 10 && c.n_z === 10
      ? "a"
      : c.attention && paper
      ? "b"
      : !c.attention && paper
      ? "c"
      : "other";
    out.push({
      config,
      implementation: "torch_draw.py",
      threads: c.threads,
      batch: c.batch,
      imagesPerSec: r.images_per_s,
      msPerStep: r.ms_per_step,
      timedSteps: r.timed_steps,
      torch: c.torch,
      blas: c.blas,
      at: r.at ?? null,
      loadavg: r.loadavg ?? null,
    });
  }
  return out;
}

/**
 * Kernel time per kernel name from `tf.profile`'s kernel list, largest first, rounded to 0.01 ms.
 * @example
 * ```ts
 * kernelTimes([{ name: "RedrawGemm", kernelTimeMs: 2 }, { name: "RedrawGemm", kernelTimeMs: 1 }]);
 * // { RedrawGemm: 3 }
 * ```
 */
export function kernelTimes(kernels: Array<{ name: string; kernelTimeMs: unknown }>): Record<string, number> {
  const sums = new Map<string, number>();
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === "number" && Number.isFinite(k.kernelTimeMs) ? k.kernelTimeMs : 0;
    sums.set(k.name, (sums.get(k.name) ?? 0) + ms);
  }
  return Object.fromEntries(
    [...sums.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [
      k,
      Math.round(v * 100) / 100,
    ]),
  );
}

/** A Markdown table of the largest per-kernel times of a run (`deno task bench --profile`). */
export function kernelTable(run: BenchRun, top = 15): string {
  const rows = Object.entries(run.kernelMs ?? {}).slice(0, top);
  const total = Object.values(run.kernelMs ?? {}).reduce((a, b) => a + b, 0);
  return [
    `Kernels of one step, config ${run.config}, ${run.backend}, ${run.threads ?? 1} thread(s): ` +
    `${total.toFixed(1)} ms in kernels of a ${run.msPerStep.toFixed(1)} ms median step`,
    "",
    "| kernel | ms per step |",
    "|---|---:|",
    ...rows.map(([k, v]) => `| ${k} | ${v.toFixed(2)} |`),
  ].join("\n");
}
