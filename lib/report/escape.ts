/**
 * HTML escaping and number formatting for the report. Every string that comes from a record or an
 * experiment file passes through {@linkcode esc} before it reaches the page.
 * @module
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML element content and quoted attribute values.
 * @example
 * ```ts
 * esc("<script>alert(1)</script>"); // "&lt;script&gt;alert(1)&lt;/script&gt;"
 * ```
 */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Escapes text for element content only (not attributes): `&`, `<` and `>`; quotes stay readable. */
export function escText(value: unknown): string {
  return String(value).replace(/[&<>]/g, (c) => ENTITIES[c]);
}

/**
 * JSON for embedding inside a `<script type="application/json">` block: `<` is written as `\u003c`, so no
 * record string can close the script element.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/** Formats nats with two decimals, or an em dash for a missing value. */
export function fmtNats(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

/** Formats a signed difference: "+1.23" or "−0.40". */
export function fmtSigned(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(digits);
}

/** Formats an integer with thousands separators: 1,234,567. */
export function fmtInt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Formats seconds as "42 s", "12.5 min" or "3.2 h". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Formats a byte count as "512 B", "12.3 kB" or "1.4 MB". */
export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(2)} MB`;
}
