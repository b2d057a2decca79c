/**
 * The progress display: cell i/n, step, loss, images/s, and ETAs for the cell and the whole experiment.
 * On a TTY it is one line rewritten in place; otherwise plain log lines, at most one per `plainEvery`
 * seconds per cell (plus phase changes), so that Slurm and Kubernetes logs stay readable.
 * @module
 */
import type { Progress } from "../train/api.ts";
import { formatDuration } from "./format.ts";

/** What the runner tells the display. */
export interface ProgressSink {
  /** A cell starts training: `pos` of `total` cells this process will train (from 1). */
  cellStart(pos: number, total: number, label: string, runId: string): void;
  update(p: Progress): void;
  /** The cell ended; `seconds` is its wall time in this process. */
  cellEnd(line: string, seconds: number): void;
  /** A message between cells (or on interruption). */
  log(line: string): void;
}

/** Options of {@linkcode ProgressDisplay}. */
export interface ProgressDisplayOptions {
  write: (text: string) => void;
  tty: boolean;
  /** Seconds; injectable for tests. */
  now?: () => number;
  /** Plain mode: seconds between lines within a cell (default 30). */
  plainEvery?: number;
  /** TTY mode: terminal width (default 120). */
  columns?: number;
}

/** Prints progress; see the module doc. */
export class ProgressDisplay implements ProgressSink {
  #o: Required<ProgressDisplayOptions>;
  #pos = 0;
  #total = 0;
  #label = "";
  #cellStart = 0;
  #durations: number[] = [];
  #lastPlain = -Infinity;
  #lastPhase = "";
  #lastTty = -Infinity;
  #lineOpen = false;

  /** @param opts where to write and whether it is a terminal */
  constructor(opts: ProgressDisplayOptions) {
    this.#o = {
      now: () => performance.now() / 1000,
      plainEvery: 30,
      columns: 120,
      ...opts,
    };
  }

  cellStart(pos: number, total: number, label: string, runId: string): void {
    this.#pos = pos;
    this.#total = total;
    this.#label = label;
    this.#cellStart = this.#o.now();
    this.#lastPlain = -Infinity;
    this.#lastPhase = "";
    this.log(`[${pos}/${total}] ${label}  run ${runId}`);
  }

  /** Seconds left for the whole experiment: this cell's ETA plus the average cell time for the rest. */
  experimentEta(cellEta: number | null): number | null {
    const elapsed = this.#o.now() - this.#cellStart;
    const left = this.#total - this.#pos;
    if (left === 0) return cellEta;
    const avg = this.#durations.length
      ? this.#durations.reduce((a, b) => a + b, 0) / this.#durations.length
      : cellEta === null
      ? null
      : elapsed + cellEta;
    if (avg === null || cellEta === null) return null;
    return cellEta + left * avg;
  }

  /** The status text for a progress report (no newline). */
  format(p: Progress): string {
    const step = p.totalSteps ? `${p.step}/${p.totalSteps}` : `${p.step}`;
    const parts = [`[${this.#pos}/${this.#total}] ${this.#label}`, `${p.phase} step ${step}`];
    if (p.loss !== null && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toFixed(2)}`);
    if (p.imagesPerSec !== null && Number.isFinite(p.imagesPerSec)) {
      parts.push(`${p.imagesPerSec.toFixed(0)} img/s`);
    }
    parts.push(`cell ETA ${formatDuration(p.etaSeconds)}`);
    parts.push(`experiment ETA ${formatDuration(this.experimentEta(p.etaSeconds))}`);
    return parts.join("  ");
  }

  update(p: Progress): void {
    const now = this.#o.now();
    if (this.#o.tty) {
      if (now - this.#lastTty < 0.2 && p.phase === this.#lastPhase) return;
      this.#lastTty = now;
      this.#lastPhase = p.phase;
      this.#o.write(`\r\x1b[2K${this.format(p).slice(0, this.#o.columns - 1)}`);
      this.#lineOpen = true;
      return;
    }
    if (p.phase === this.#lastPhase && now - this.#lastPlain < this.#o.plainEvery) return;
    this.#lastPlain = now;
    this.#lastPhase = p.phase;
    this.#o.write(`${this.format(p)}\n`);
  }

  cellEnd(line: string, seconds: number): void {
    this.#durations.push(seconds);
    this.log(line);
  }

  log(line: string): void {
    if (this.#lineOpen) {
      this.#o.write("\r\x1b[2K");
      this.#lineOpen = false;
    }
    this.#o.write(`${line}\n`);
  }
}
