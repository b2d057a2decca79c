/**
 * Small text formatting helpers for the progress display and summary tables.
 * @module
 */

/**
 * A duration for people: `45s`, `7m12s`, `1h02m`.
 * @example
 * ```ts
 * formatDuration(432); // "7m12s"
 * ```
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A bound with its standard error: `88.41 ± 0.31`, or `-`. */
export function formatEstimate(e: { mean: number; stderr: number } | null | undefined): string {
  if (!e || !Number.isFinite(e.mean)) return "-";
  return Number.isFinite(e.stderr) ? `${e.mean.toFixed(2)} ± ${e.stderr.toFixed(2)}` : e.mean.toFixed(2);
}

/**
 * A plain-text table with columns padded to their widest cell.
 * @example
 * ```ts
 * textTable(["a", "b"], [["1", "22"]]); // "a  b \n-  --\n1  22"
 * ```
 */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Escapes text for a Markdown table cell (pipes) and for HTML renderers (`<`, `>`, `&`). */
export function mdCell(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|").replace(
    /\r?\n/g,
    " ",
  );
}
