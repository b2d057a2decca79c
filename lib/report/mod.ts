/**
 * redraw's report renderer: run records -> self-contained HTML pages that put every result beside the
 * paper's Table 2, with server-rendered Vega-Lite charts and images as data URIs.
 *
 * @module
 */
export {
  checkExperimentName,
  loadInteractiveScripts,
  readDigest,
  type RenderedReport,
  renderExperimentReport,
  renderIndex,
  type RenderReportOptions,
} from "./render.ts";
export {
  type ChartRecord,
  type ExperimentHtml,
  type ExperimentHtmlOptions,
  experimentReportHtml,
  type ReportDigest,
} from "./html.ts";
export { type IndexEntry, indexHtml } from "./index_page.ts";
export {
  type ExperimentRuns,
  fromStoredRun,
  readExperimentRuns,
  readRunRecord,
  type RunRecord,
  type UnreadableRun,
} from "./records.ts";
export { type ExperimentResults, readResults } from "./results.ts";
export {
  type ArmSummary,
  FULL_BUDGET_EPOCHS,
  summarizeArms,
  type Verdict,
  type VerdictKind,
} from "./summary.ts";
export {
  checkPaperTargets,
  DEFAULT_PAPER_TARGETS,
  DEFAULT_TOLERANCE_NATS,
  findTable2Row,
  formatTable2Value,
  PAPER_CITATION,
  PAPER_CITATION_TEXT,
  PAPER_TABLE2,
  PAPER_TABLE3_MNIST,
  type PaperTarget,
  type PaperTargets,
  type Table2Row,
  type Table3Model,
} from "../config/paper.ts";
export { staticReportProblems } from "./check.ts";
