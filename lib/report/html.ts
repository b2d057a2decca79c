/**
 * The pure part of the report: run records in memory -> one self-contained HTML page. No file IO here, so
 * tests render in-memory fixtures; lib/report/render.ts reads the records and writes the file.
 * @module
 */
import { orderingChecks, orderingSentence } from "./ordering.ts";
import type { TopLevelSpec } from "vega-lite";
import type { DrawingSequence, Manifest } from "../record/types.ts";
import {
  ablationChart,
  curveChart,
  type CurveQuantity,
  gradientChart,
  gradientGroups,
  klChart,
  lineBudget,
  nllChart,
  numericFactors,
} from "./charts.ts";
import { esc, escText, fmtBytes, fmtDuration, fmtInt, fmtNats, fmtSigned, jsonForScript } from "./escape.ts";
import {
  canvasImage,
  pngBytes,
  pngDataUri,
  READ_COLOR,
  sampleGridPng,
  sequenceApng,
  sequenceStripPng,
  WRITE_COLOR,
} from "./images.ts";
import {
  formatTable2Value,
  PAPER_CITATION,
  PAPER_CITATION_TEXT,
  PAPER_TABLE2,
  PAPER_TABLE3_MNIST,
} from "../config/paper.ts";
import type { RunRecord, UnreadableRun } from "./records.ts";
import { REPORT_CSS, VERDICT_COLORS } from "./style.ts";
import type { PaperTargets } from "../config/paper.ts";
import { type ArmSummary, summarizeArms, testEval } from "./summary.ts";
import { renderChartSvg } from "./svg.ts";

/** Options of {@linkcode experimentReportHtml}. */
export interface ExperimentHtmlOptions {
  /** Table 2 rows to compare with (see `PaperTarget`); default: DRAW / DRAW without attention by attention. */
  paperTargets?: PaperTargets;
  /** Run folders that could not be read, listed in the page. */
  unreadable?: readonly UnreadableRun[];
  /** The experiment's description from its file. */
  description?: string;
  /** When set, these scripts (vega, vega-lite, vega-embed builds) are inlined and charts become interactive. */
  interactiveScripts?: readonly string[];
  /** Time printed as "generated at" (default: now). */
  generatedAt?: Date;
  /** The arms of `runs` when the caller already made them (exp's summary); made here otherwise. */
  arms?: readonly ArmSummary[];
}

/** One chart of the page, kept for tests and for the interactive mode. */
export interface ChartRecord {
  /** Element id, also the SVG id prefix: "chart-3". */
  id: string;
  title: string;
  spec: TopLevelSpec;
  /** Vega-Lite and Vega warnings; empty for a correct chart. */
  warnings: string[];
}

/** A machine-readable digest of a report, embedded in the page for the index. */
export interface ReportDigest {
  experiment: string;
  generatedAt: string;
  runs: number;
  arms: Array<{ label: string; verdict: string; kind: string; bound: number | null; paper: number | null }>;
}

/** What {@linkcode experimentReportHtml} produced. */
export interface ExperimentHtml {
  html: string;
  arms: ArmSummary[];
  charts: ChartRecord[];
  digest: ReportDigest;
}

function badge(kind: string, text: string): string {
  const [bg, fg] = VERDICT_COLORS[kind] ?? VERDICT_COLORS.pending;
  return `<span class="badge" style="background:${bg};color:${fg}">${esc(text)}</span>`;
}

/** Table 2's ordering among the arms (see ordering.ts), one line per pair of arms with different rows. */
function orderingBox(arms: readonly ArmSummary[]): string {
  const checks = orderingChecks(arms);
  if (!checks.length) return "";
  const lines = checks.map((c) =>
    `<p class="ordering" data-ordering="${c.verdict}"><b>${
      esc(
        c.verdict === "holds"
          ? "Ordering holds"
          : c.verdict === "reversed"
          ? "Ordering reversed"
          : "Ordering not resolved",
      )
    }</b>: ${esc(orderingSentence(c))}</p>`
  );
  return `<div class="orderings" id="ordering">${lines.join("\n")}</div>`;
}

function verdictCards(arms: readonly ArmSummary[]): string {
  if (arms.length === 0) return `<p class="warn">No runs found for this experiment.</p>`;
  const cards = arms.map((a) => {
    const [bg, fg] = VERDICT_COLORS[a.verdict.kind];
    const num = a.bound
      ? `${a.bound.mean.toFixed(2)}${
        a.bound.n > 1 ? ` <small>± ${a.bound.std.toFixed(2)}</small>` : ""
      } <small>nats</small>`
      : a.verdict.kind === "failed"
      ? "failed"
      : "—";
    const cmp = a.paper
      ? `paper ${esc(formatTable2Value(a.paper))} (${esc(a.paper.model)})${
        a.diff !== null ? `, difference ${fmtSigned(a.diff)}` : ""
      }`
      : "no paper value for this cell";
    return `<div class="card" style="background:${bg};color:${fg}" data-verdict="${a.verdict.kind}">
<div class="arm">${esc(a.label)}</div>
<div class="num">${num}</div>
<div class="cmp">${cmp}</div>
<div class="label">${esc(a.verdict.label)}</div>
<div class="why">${esc(a.verdict.why)}</div>
${
      a.bound && a.problems.length
        ? `<div class="why"><b>${a.problems.length} of ${a.runs.length} seeds did not complete</b> (${
          esc(a.problems.map((p) => `seed ${p.seed} ${p.status}`).join(", "))
        }); the numbers above are over the rest.</div>`
        : ""
    }
</div>`;
  });
  return `<div class="verdicts" id="verdict">${cards.join("\n")}</div>`;
}

function problemsBox(arms: readonly ArmSummary[], unreadable: readonly UnreadableRun[]): string {
  const items: string[] = [];
  for (const u of unreadable) {
    items.push(`unreadable run folder <code>${esc(u.dir)}</code>: ${esc(u.reason)}`);
  }
  for (const a of arms) {
    for (const r of a.runs) {
      for (const w of r.warnings) {
        items.push(`run <code>${esc(r.manifest.runId)}</code> (${esc(a.label)}): ${esc(w)}`);
      }
    }
  }
  if (items.length === 0) return "";
  return `<div class="warn"><b>Reading the records raised ${items.length} warning${
    items.length === 1 ? "" : "s"
  }:</b>
<ul>${items.slice(0, 50).map((i) => `<li>${i}</li>`).join("")}${
    items.length > 50 ? `<li>… ${items.length - 50} more</li>` : ""
  }</ul></div>`;
}

function headlineTable(arms: readonly ArmSummary[]): string {
  const rows = arms.map((a) => {
    const seeds = `${a.completed.length} of ${a.runs.length}`;
    const bound = a.bound
      ? `${fmtNats(a.bound.mean)}${a.bound.n > 1 ? ` ± ${fmtNats(a.bound.std)}` : ""}`
      : "—";
    const se = a.boundStderr !== null
      ? `<br><span class="small">s.e. over images ${fmtNats(a.boundStderr)}</span>`
      : "";
    const iwae = a.iwae
      ? `${fmtNats(a.iwae.mean)}${
        a.iwae.n > 1 ? ` ± ${fmtNats(a.iwae.std)}` : ""
      }<br><span class="small">k = ${a.iwae.k}</span>`
      : "—";
    const paper = a.paper
      ? `${esc(formatTable2Value(a.paper))}<br><span class="small">${esc(a.paper.model)}</span>`
      : "—";
    const b = a.budget;
    const budget = `${esc(b.configured)}<br><span class="small">${
      b.epochs !== null ? `${b.epochs.toFixed(2)} epochs, ` : ""
    }${fmtInt(b.imagesSeen)} images, ${fmtDuration(b.wallTime)}<br>${esc(b.backends.join("; "))}</span>`;
    const problems = a.problems.map((p) =>
      `<li><b>seed ${esc(p.seed)} ${esc(p.status)}</b>${
        p.reason ? `: ${esc(p.reason)}` : ""
      } <span class="small">(${esc(p.runId)})</span></li>`
    );
    const devs = a.deviations.length
      ? `<ul>${a.deviations.map((d) => `<li>${esc(d)}</li>`).join("")}</ul>`
      : "none";
    return `<tr class="${a.bound ? "" : a.verdict.kind === "failed" ? "failed" : ""}" id="${a.id}">
<td><b>${esc(a.label)}</b>${problems.length ? `<ul class="problems">${problems.join("")}</ul>` : ""}</td>
<td class="n">${seeds}</td><td class="n">${bound}${se}</td><td class="n">${iwae}</td><td class="n">${paper}</td>
<td class="n">${fmtSigned(a.diff)}</td><td>${budget}</td><td>${
      badge(a.verdict.kind, a.verdict.label)
    }</td><td>${devs}</td></tr>`;
  });
  const notes = [...new Set(arms.flatMap((a) => a.notes))];
  return `<table class="headline">
<thead><tr><th>arm</th><th>seeds done</th><th>test bound (nats)<br><span class="small">mean ± sd over seeds</span></th>
<th>IWAE estimate (nats)</th><th>paper (Table 2)</th><th>ours − paper</th><th>budget</th><th>verdict</th>
<th>deviations from the paper (Table 3 model, data)</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>
<p class="small">Training-budget notes: ${
    notes.map(esc).join("; ")
  }. "Within tolerance" means |ours − paper| ≤ tolerance (${
    esc(arms[0]?.tolerance ?? 1)
  } nats) + 2 standard errors; "not at this budget" means above the paper after a shorter training or with a smaller model than
the paper's; "not comparable" means a different dataset or no matching Table 2 row.</p>`;
}

/** A spec as indented JSON with each data row on one line (readable, and a third of the fully indented size). */
export function specText(spec: TopLevelSpec): string {
  const rows: string[] = [];
  const text = JSON.stringify(spec, (key, value) => {
    if (key !== "values" || !Array.isArray(value)) return value;
    rows.push(`[\n${value.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n]`);
    return `@@rows${rows.length - 1}@@`;
  }, 1);
  return text.replace(/"@@rows(\d+)@@"/g, (_, i) => rows[Number(i)]);
}

interface ChartPlan {
  title: string;
  caption: string;
  spec: TopLevelSpec | null;
  empty: string;
}

async function renderCharts(
  plans: ChartPlan[],
  first: number,
  withSpecs = true,
): Promise<{ html: string[]; charts: ChartRecord[] }> {
  const html: string[] = [];
  const charts: ChartRecord[] = [];
  let n = first;
  for (const p of plans) {
    if (!p.spec) {
      html.push(
        `<figure class="chart"><figcaption>${esc(p.title)}</figcaption><p class="small">${
          esc(p.empty)
        }</p></figure>`,
      );
      continue;
    }
    const id = `chart-${n++}`;
    const { svg, warnings } = await renderChartSvg(p.spec, id);
    charts.push({ id, title: p.title, spec: p.spec, warnings });
    html.push(`<figure class="chart" id="${id}"><figcaption>${esc(p.title)}</figcaption>
<div class="svg-wrap">${svg}</div>
${warnings.map((w) => `<p class="chart-warning">Chart problem: ${esc(w)}</p>`).join("")}
<p class="small">${p.caption}</p>
${
      withSpecs
        ? `<details><summary>Vega-Lite spec (data inline; paste into the Vega editor to explore)</summary><pre>${
          escText(specText(p.spec))
        }</pre></details>`
        : ""
    }
</figure>`);
  }
  return { html, charts };
}

function seqCaption(seq: DrawingSequence): string {
  const boxes = [
    seq.write
      ? `<span class="legend-box" style="border-color:rgb(${WRITE_COLOR.join(",")})"></span>write attention`
      : "",
    seq.read
      ? `<span class="legend-box" style="border-color:rgb(${READ_COLOR.join(",")})"></span>read attention`
      : "",
  ].filter(Boolean).join(", ");
  return `${
    seq.kind === "prior" ? "Generated from the prior" : "Reconstruction"
  }: ${seq.canvases.length} glimpses${boxes ? ` with ${boxes}` : " (no attention)"}`;
}

/**
 * Pages with more than this many arms are compact, to stay under 1 MB: no inline Vega-Lite specs (the
 * `--interactive` page has them) and, per arm, the prior samples and one drawing sequence without its
 * animation and input.
 */
const FULL_MEDIA_ARMS = 2;

function samplesSection(arms: readonly ArmSummary[], compact: boolean): string {
  const out: string[] = [];
  if (compact) {
    out.push(
      `<p class="small">${arms.length} arms: each shows its prior samples and one drawing sequence; ` +
        "animations and reconstructions are in reports of up to two arms (render one arm's runs alone to see them).</p>",
    );
  }
  for (const a of arms) {
    const run = [...a.completed, ...a.runs].find((r) =>
      r.samples && (r.samples.grid?.length || r.samples.sequences?.length)
    );
    out.push(`<h3>${esc(a.label)}</h3>`);
    if (!run || !run.samples) {
      out.push(`<p class="small">No samples recorded for this arm.</p>`);
      continue;
    }
    const s = run.samples;
    const { A, B } = run.manifest.config.model;
    const parts: string[] = [];
    const src = `seed ${esc(run.manifest.config.seed)}, step ${esc(s.step)}, run ${esc(run.manifest.runId)}`;
    try {
      if (s.grid?.length) {
        const png = sampleGridPng(s.grid, A, B);
        const cols = Math.ceil(Math.sqrt(s.grid.length));
        const w = cols * A + cols + 1;
        const h = Math.ceil(s.grid.length / cols) * B + Math.ceil(s.grid.length / cols) + 1;
        parts.push(
          `<figure style="max-width:${w * 3}px"><img class="px sample-grid" src="${pngDataUri(png)}" width="${
            w * 3
          }" height="${h * 3}" alt="${
            esc(`${s.grid.length} samples from the prior`)
          }"><figcaption>${s.grid.length} samples from the prior (final canvases; ${src})</figcaption></figure>`,
        );
      }
      for (const [i, seq] of (s.sequences ?? []).slice(0, compact ? 1 : 3).entries()) {
        const scale = 4;
        if (!compact && seq.kind === "reconstruction" && seq.input) {
          const input = pngBytes(canvasImage(seq.input, seq.A, seq.B, scale));
          parts.push(
            `<figure style="max-width:${seq.A * scale * 2}px"><img class="px" src="${
              pngDataUri(input)
            }" width="${seq.A * scale * 2}" height="${
              seq.B * scale * 2
            }" alt="input image"><figcaption>input</figcaption></figure>`,
          );
        }
        if (!compact) {
          parts.push(
            `<figure style="max-width:${seq.A * scale * 2}px"><img class="px anim" src="${
              pngDataUri(sequenceApng(seq, scale))
            }" width="${seq.A * scale * 2}" height="${seq.B * scale * 2}" alt="${
              esc(`animation of drawing sequence ${i + 1}`)
            }"><figcaption>Animation (loops)</figcaption></figure>`,
          );
        }
        const cols = Math.min(16, seq.canvases.length);
        const strip = sequenceStripPng(seq, 3, cols);
        const w = cols * seq.A * 3 + (cols + 1) * 2;
        const rows = Math.ceil(seq.canvases.length / cols);
        const h = rows * seq.B * 3 + (rows + 1) * 2;
        parts.push(
          `<figure class="strip"><img class="px" src="${pngDataUri(strip)}" width="${w}" height="${h}" alt="${
            esc(`drawing sequence ${i + 1}, every glimpse`)
          }"><figcaption>${
            seqCaption(seq)
          }; glimpse t = 1 … ${seq.canvases.length}, left to right, top to bottom (${src})</figcaption></figure>`,
        );
      }
    } catch (e) {
      parts.push(
        `<p class="chart-warning">Could not draw the samples of run ${esc(run.manifest.runId)}: ${
          esc((e as Error).message)
        }</p>`,
      );
    }
    out.push(`<div class="arm-samples">${parts.join("\n")}</div>`);
  }
  return out.join("\n");
}

function shortHash(h: string | null | undefined, n = 12): string {
  return h ? esc(h.slice(0, n)) : "—";
}

function provenanceRow(r: RunRecord, arm: ArmSummary): string {
  const m: Manifest = r.manifest;
  const e = m.environment;
  const t = testEval(r);
  const status = m.status === "completed"
    ? badge("within", "completed")
    : badge(m.status === "failed" ? "failed" : "pending", m.status);
  const git = m.git
    ? `${shortHash(m.git.commit)}${
      m.git.dirty ? ` <b>dirty</b>${m.git.diffFile ? ` (${esc(m.git.diffFile)})` : ""}` : ""
    }`
    : "—";
  return `<tr class="${m.status === "failed" ? "failed" : ""}"><td><code>${esc(m.runId)}</code></td><td>${
    esc(arm.label)
  }</td>
<td class="n">${esc(m.config.seed)}</td><td>${status}${
    m.reason ? `<br><span class="small">${esc(m.reason)}</span>` : ""
  }</td>
<td class="n">${t ? fmtNats(t.bound.mean) : "—"}</td><td>${git}</td><td>${
    e ? esc(`${e.backend} (${e.device})`) : "—"
  }</td>
<td><code class="cmd">${esc(m.command ?? "—")}</code></td></tr>`;
}

function provenanceDetails(r: RunRecord): string {
  const m = r.manifest;
  const e = m.environment;
  const kv = (k: string, v: string) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`;
  const rows = [
    kv("run folder", `<code>${esc(r.dir)}</code>`),
    kv("cell", `<code>${esc(JSON.stringify(m.cell))}</code>`),
    kv(
      "seeds",
      `root ${esc(m.seeds?.root ?? m.config.seed)}; ${
        esc(Object.entries(m.seeds?.streams ?? {}).map(([k, v]) => `${k} ${v}`).join(", "))
      }`,
    ),
    kv(
      "git",
      m.git
        ? `${esc(m.git.commit ?? "not a git checkout")}${
          m.git.dirty ? " (dirty: uncommitted changes saved in diff.patch)" : " (clean)"
        }`
        : "—",
    ),
    kv("deno.lock SHA-256", esc(m.lockSha256 ?? "—")),
    kv(
      "data",
      m.dataset
        ? `${esc(m.dataset.name)}${
          m.dataset.binarize ? `, ${esc(m.dataset.binarize)} binarization` : ""
        }; splits ${esc(Object.entries(m.dataset.splits ?? {}).map(([k, v]) => `${k} ${v}`).join(", "))}<br>${
          Object.entries(m.dataset.sha256 ?? {}).map(([f, h]) => {
            const c = m.dataset.copies?.[f];
            return `<code>${esc(f)}</code> ${esc(h)}${
              c ? ` (${esc(c.source)} copy <code>${esc(c.path)}</code>)` : ""
            }`;
          }).join("<br>")
        }`
        : "—",
    ),
    kv(
      "versions",
      e ? esc(`Deno ${e.deno}, V8 ${e.v8}, TypeScript ${e.typescript}, tfjs ${e.tfjs}`) : "—",
    ),
    kv("backend", e ? esc(`requested ${e.backendRequested}, obtained ${e.backend}; ${e.device}`) : "—"),
    kv(
      "machine",
      e
        ? esc(
          `${e.os} ${e.arch}, ${e.cpuModel}, ${e.cores} cores, ${
            fmtBytes(e.memoryBytes)
          } memory, host ${e.hostname}`,
        )
        : "—",
    ),
    kv("time", esc(`started ${m.startedAt}, ended ${m.endedAt ?? "—"}, last heartbeat ${m.heartbeatAt}`)),
    kv("reproduce", `<code class="cmd">${esc(m.command ?? "—")}</code>`),
  ];
  if (m.failure) {
    rows.push(
      kv("failure", esc(`step ${m.failure.step}; offending: ${m.failure.offending.join(", ") || "—"}`)),
    );
  }
  if (m.notes?.length) rows.push(kv("notes", m.notes.map(esc).join("<br>")));
  rows.push(kv("config", `<pre>${esc(JSON.stringify(m.config, null, 1))}</pre>`));
  return `<details><summary>Run ${esc(m.runId)} (seed ${
    esc(m.config.seed)
  }): full provenance</summary><table>${rows.join("")}</table></details>`;
}

function referenceSection(): string {
  const t2 = PAPER_TABLE2.map((r) =>
    `<tr><td>${esc(r.model)}</td><td class="n">${esc(formatTable2Value(r))}</td></tr>`
  ).join("");
  const t3 = PAPER_TABLE3_MNIST;
  return `<h2 id="paper">The paper's numbers</h2>
<div class="charts"><div><h3>Table 2: binarized MNIST, test NLL (nats)</h3><table style="width:auto"><tr><th>model</th><th>−log p(x)</th></tr>${t2}</table>
<p class="small">≤: an upper bound (variational bound), as for our test bound.</p></div>
<div><h3>Table 3: the MNIST model</h3><table style="width:auto">
<tr><th>glimpses T</th><td class="n">${t3.T}</td></tr><tr><th>LSTM size (encoder, decoder)</th><td class="n">${t3.encSize}</td></tr>
<tr><th>latent size n_z</th><td class="n">${t3.nZ}</td></tr><tr><th>read size</th><td class="n">${t3.readN}×${t3.readN}</td></tr>
<tr><th>write size</th><td class="n">${t3.writeN}×${t3.writeN}</td></tr><tr><th>image</th><td class="n">${t3.A}×${t3.B}</td></tr></table>
<p class="small">Optimiser: Adam; no learning rate, batch size or training length given.</p></div></div>
<p>${esc(PAPER_CITATION.authors)}. <i>${esc(PAPER_CITATION.title)}</i>. ${esc(PAPER_CITATION.venue)}. ${
    esc(PAPER_CITATION.arxiv)
  }.</p>`;
}

function interactiveBlock(charts: readonly ChartRecord[], scripts: readonly string[]): string {
  // Inlined builds: "</script" inside them would end the element early; "<\/script" means the same in JS.
  const libs = scripts.map((s) => `<script>${s.replace(/<\/script/gi, "<\\/script")}</script>`).join("\n");
  const specs = charts.map((c) =>
    `<script type="application/json" data-chart="${c.id}">${jsonForScript(c.spec)}</script>`
  ).join("\n");
  const boot = `<script>
for (const el of document.querySelectorAll("script[data-chart]")) {
  const target = document.querySelector("#" + el.dataset.chart + " .svg-wrap");
  vegaEmbed(target, JSON.parse(el.textContent), { renderer: "svg", actions: { export: true, source: true, compiled: true, editor: false } })
    .catch((e) => { target.insertAdjacentHTML("beforeend", "<p class=chart-warning>Interactive chart failed; static version kept.</p>"); console.error(e); });
}
</script>`;
  return `${libs}\n${specs}\n${boot}`;
}

/**
 * Renders one experiment's report page from run records in memory: verdict first, then the headline table,
 * the charts, samples and drawing sequences, provenance and the paper's tables.
 */
export async function experimentReportHtml(
  experiment: string,
  runs: readonly RunRecord[],
  opts: ExperimentHtmlOptions = {},
): Promise<ExperimentHtml> {
  const arms = opts.arms ? [...opts.arms] : summarizeArms(runs, opts.paperTargets);
  const generatedAt = (opts.generatedAt ?? new Date()).toISOString();
  const digest: ReportDigest = {
    experiment,
    generatedAt,
    runs: runs.length,
    arms: arms.map((a) => ({
      label: a.label,
      verdict: a.verdict.label,
      kind: a.verdict.kind,
      bound: a.bound?.mean ?? null,
      paper: a.paper?.nll ?? null,
    })),
  };
  const budget = lineBudget(arms.length);
  const thinNote = `Curves with more than ${fmtInt(budget.line)} points, and validation points beyond ${
    fmtInt(budget.marked)
  }, are thinned evenly.`;
  const curve = (q: CurveQuantity, title: string): ChartPlan => {
    const c = curveChart(arms, q);
    return {
      title,
      caption:
        `Solid: training batches (metrics.jsonl); dashed with points: validation (eval.jsonl). Band: ± 1 sd over seeds. ${thinNote}${
          c?.clipped ? " The y axis is cut at the 90th percentile: the first steps lie above it." : ""
        }`,
      spec: c?.spec ?? null,
      empty: "No metrics recorded yet.",
    };
  };
  const compact = arms.length > FULL_MEDIA_ARMS;
  const nll = await renderCharts(
    [{
      title: "Our test bounds beside Table 2",
      caption:
        "Ours: mean over seeds, bar ± 1 sd (diamonds: variational bound, squares: IWAE estimate). Paper: Table 2 of Gregor et al. 2015.",
      spec: nllChart(arms),
      empty: "",
    }],
    1,
    !compact,
  );
  const training = await renderCharts(
    [
      curve("loss", "Bound L = Lx + Lz against images seen"),
      curve("lossX", "Reconstruction term Lx"),
      curve("lossZ", "Latent term Lz"),
      {
        title: "KL per glimpse",
        caption:
          "How each arm spends its nats over the glimpses: mean of each run's last 10 logged batches, then over seeds.",
        spec: klChart(arms),
        empty: "No KL per step recorded yet.",
      },
    ],
    1 + nll.charts.length,
    !compact,
  );
  let next = 1 + nll.charts.length + training.charts.length;
  const groupDomain = gradientGroups(arms);
  const grads = await renderCharts(
    arms.map((a) => ({
      title: `Gradient norms: ${a.label}`,
      caption: `Per variable group (enc, dec, read, write, post, init), mean over seeds; lines thinned to ${
        fmtInt(budget.line)
      } points; ${
        a.config.train.clipNorm > 0
          ? `crosses: steps clipped at global norm ${
            esc(a.config.train.clipNorm)
          } (dashed), thinned evenly to at most ${fmtInt(budget.marked)}.`
          : "no clipping."
      }`,
      spec: gradientChart(a, groupDomain, arms.length),
      empty: "No gradient statistics recorded.",
    })),
    next,
    !compact,
  );
  next += grads.charts.length;
  const factors = numericFactors(arms);
  const ablation = await renderCharts(
    factors.map((f) => ({
      title: `Test bound against ${f}`,
      caption: `Mean over seeds, bar ± 1 sd; completed cells only.${
        arms.some((a) => !a.bound)
          ? ` No result: ${
            esc(
              arms.filter((a) => !a.bound).map((a) =>
                `${a.label} (${a.verdict.label})`
              ).join(", "),
            )
          }.`
          : ""
      }`,
      spec: ablationChart(arms, f),
      empty: "Fewer than two completed values.",
    })),
    next,
    !compact,
  );
  const charts = [...nll.charts, ...training.charts, ...grads.charts, ...ablation.charts];
  const provenanceRows = arms.flatMap((a) => a.runs.map((r) => provenanceRow(r, a))).join("\n");
  const provenanceMore = arms.flatMap((a) => a.runs.map(provenanceDetails)).join("\n");
  const interactive = opts.interactiveScripts?.length
    ? interactiveBlock(charts, opts.interactiveScripts)
    : "";
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="redraw-report" content="${esc(JSON.stringify(digest))}">
<title>${esc(experiment)}: redraw report</title>
<style>${REPORT_CSS}</style></head>
<body><main>
<h1>${esc(experiment)}</h1>
<p class="sub">DRAW reproduction report · ${runs.length} run${
    runs.length === 1 ? "" : "s"
  } in ${arms.length} arm${arms.length === 1 ? "" : "s"} · generated ${esc(generatedAt)} · compared with ${
    esc(PAPER_CITATION_TEXT)
  }</p>
${opts.description ? `<p>${esc(opts.description)}</p>` : ""}
${verdictCards(arms)}
${orderingBox(arms)}
<nav class="toc"><a href="#headline">headline</a><a href="#nll">vs Table 2</a><a href="#training">training</a><a href="#gradients">gradients</a>${
    factors.length ? `<a href="#ablations">ablations</a>` : ""
  }<a href="#samples">samples</a><a href="#provenance">provenance</a><a href="#paper">paper</a><a href="index.html">all reports</a></nav>
${problemsBox(arms, opts.unreadable ?? [])}
<h2 id="headline">Headline</h2>
${headlineTable(arms)}
<h2 id="nll">Against the paper's Table 2</h2>
<div class="charts">${nll.html.join("\n")}</div>
<h2 id="training">Training</h2>
<div class="charts">${training.html.join("\n")}</div>
<h2 id="gradients">Gradient norms</h2>
<div class="charts">${grads.html.join("\n")}</div>
${
    factors.length
      ? `<h2 id="ablations">Ablations</h2>\n<div class="charts">${ablation.html.join("\n")}</div>`
      : ""
  }
<h2 id="samples">Samples and drawing sequences</h2>
${samplesSection(arms, compact)}
<h2 id="provenance">Provenance</h2>
<table><thead><tr><th>run</th><th>arm</th><th>seed</th><th>status</th><th>test bound</th><th>git commit</th><th>backend (device)</th><th>reproduce</th></tr></thead>
<tbody>${provenanceRows}</tbody></table>
${provenanceMore}
${referenceSection()}
<footer>Generated by redraw's report renderer (lib/report). Static SVG charts${
    interactive ? " with interactive versions (vega-embed, inlined)" : ""
  }; no network access needed.</footer>
</main>
${interactive}
</body></html>
`;
  return { html, arms, charts, digest };
}
