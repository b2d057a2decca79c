/**
 * The index page (`reports/index.html`) linking every experiment report, with each report's verdicts.
 * Pure: the entries come from lib/report/render.ts, which reads the digests embedded in the reports.
 * @module
 */
import { esc, fmtBytes, fmtNats } from "./escape.ts";
import type { ReportDigest } from "./html.ts";
import { PAPER_CITATION_TEXT } from "../config/paper.ts";
import { REPORT_CSS, VERDICT_COLORS } from "./style.ts";

/** One report listed on the index. */
export interface IndexEntry {
  /** File name relative to the reports folder, e.g. "attention-ablation.html". */
  file: string;
  bytes: number;
  /** The digest embedded in the report, or null for a page without one. */
  digest: ReportDigest | null;
}

/**
 * Renders the index page.
 * @example
 * ```ts
 * indexHtml([{ file: "smoke.html", bytes: 81234, digest: null }]);
 * ```
 */
export function indexHtml(entries: readonly IndexEntry[], generatedAt = new Date()): string {
  const rows = [...entries].sort((a, b) => a.file.localeCompare(b.file)).map((e) => {
    const base = e.file.replace(/\.html$/, "");
    const name = e.digest?.experiment ?? base;
    const label = name === base ? esc(name) : `${esc(name)} <span class="small">(${esc(e.file)})</span>`;
    const arms = (e.digest?.arms ?? []).map((a) => {
      const [bg, fg] = VERDICT_COLORS[a.kind] ?? VERDICT_COLORS.pending;
      return `<li>${esc(a.label)}: ${fmtNats(a.bound)}${
        a.paper !== null ? ` vs ${fmtNats(a.paper)}` : ""
      } <span class="badge" style="background:${bg};color:${fg}">${esc(a.verdict)}</span></li>`;
    });
    return `<tr><td><a href="${esc(encodeURIComponent(e.file))}">${label}</a></td><td>${
      arms.length ? `<ul>${arms.join("")}</ul>` : "—"
    }</td>
<td class="n">${esc(e.digest?.runs ?? "—")}</td><td>${esc(e.digest?.generatedAt ?? "—")}</td><td class="n">${
      fmtBytes(e.bytes)
    }</td></tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>redraw reports</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>redraw reports</h1>
<p class="sub">Experiments reproducing ${esc(PAPER_CITATION_TEXT)} · index generated ${
    esc(generatedAt.toISOString())
  }</p>
${
    rows.length
      ? `<table><thead><tr><th>experiment</th><th>arms: test bound vs paper (nats)</th><th>runs</th><th>generated</th><th>size</th></tr></thead><tbody>${
        rows.join("\n")
      }</tbody></table>`
      : `<p>No reports yet: run <code class="cmd">deno task exp smoke</code> or <code class="cmd">deno task report</code>.</p>`
  }
</main></body></html>
`;
}
