/**
 * Whether Table 2's ordering holds among an experiment's arms: for every pair of arms compared with two
 * different Table 2 rows (DRAW 80.97 vs DRAW without attention 87.40), does the arm of the paper's better
 * row have the lower mean test bound, by more than the spread over seeds allows?
 * @module
 */
import type { ArmSummary } from "./summary.ts";

/** How a pair of arms compares with the paper's ordering of their rows. */
export type OrderingVerdict = "holds" | "reversed" | "unresolved";

/** One pair of arms set against the paper's ordering of their Table 2 rows. */
export interface OrderingCheck {
  /** The arm whose Table 2 row is better (lower) in the paper, and the other. */
  better: { label: string; row: string; paper: number; mean: number; std: number; n: number };
  worse: { label: string; row: string; paper: number; mean: number; std: number; n: number };
  /** Our mean difference (better arm minus worse arm; negative agrees with the paper). */
  diff: number;
  /** Standard error of that difference over seeds (Welch); NaN with fewer than 2 seeds in an arm. */
  se: number;
  verdict: OrderingVerdict;
  /** One sentence saying why. */
  why: string;
}

const fmt = (x: number) => x.toFixed(2);

/**
 * Compares each pair of arms that target different Table 2 rows. The difference of means counts as
 * resolved when it exceeds twice its standard error over seeds (Welch: sqrt(sd1^2/n1 + sd2^2/n2)); with a
 * single seed in either arm there is no spread to judge by, and the verdict is "unresolved".
 * @example
 * ```ts
 * import { summarizeArms } from "./summary.ts";
 * import { attentionAblation, synthRecord } from "../../tests/fixtures/report/synthetic.ts";
 * const arms = summarizeArms(attentionAblation().map(synthRecord)); // 95.3-95.9 vs 103.5-104.1 nats
 * orderingChecks(arms).map((c) => c.verdict); // ["holds"]
 * ```
 */
export function orderingChecks(arms: readonly ArmSummary[]): OrderingCheck[] {
  const scored = arms.filter((a) => a.paper && a.bound);
  const out: OrderingCheck[] = [];
  for (let i = 0; i < scored.length; i++) {
    for (let j = i + 1; j < scored.length; j++) {
      const [a, b] = [scored[i], scored[j]];
      if (a.paper!.nll === b.paper!.nll) continue;
      const [better, worse] = a.paper!.nll < b.paper!.nll ? [a, b] : [b, a];
      const side = (x: ArmSummary) => ({
        label: x.label,
        row: x.paper!.model,
        paper: x.paper!.nll,
        mean: x.bound!.mean,
        std: x.bound!.std,
        n: x.bound!.n,
      });
      const diff = better.bound!.mean - worse.bound!.mean;
      const oneSeed = better.bound!.n < 2 || worse.bound!.n < 2;
      const se = oneSeed
        ? NaN
        : Math.sqrt(better.bound!.std ** 2 / better.bound!.n + worse.bound!.std ** 2 / worse.bound!.n);
      const verdict: OrderingVerdict = oneSeed || Math.abs(diff) <= 2 * se
        ? "unresolved"
        : diff < 0
        ? "holds"
        : "reversed";
      const ours = `ours ${fmt(better.bound!.mean)} ± ${fmt(better.bound!.std)} vs ${
        fmt(worse.bound!.mean)
      } ± ${fmt(worse.bound!.std)} nats (mean ± sd over ${better.bound!.n} and ${worse.bound!.n} seeds)`;
      const why = oneSeed
        ? `${ours}: one seed gives no spread to judge the difference of ${fmt(diff)} nats by`
        : `${ours}: difference ${fmt(diff)} ± ${fmt(se)} nats (standard error over seeds); ${
          verdict === "unresolved" ? "within" : "beyond"
        } two standard errors`;
      out.push({ better: side(better), worse: side(worse), diff, se, verdict, why });
    }
  }
  return out;
}

/** One sentence per check: "Table 2's ordering DRAW (80.97) < ... holds at this budget: ...". */
export function orderingSentence(c: OrderingCheck): string {
  const what = c.verdict === "holds"
    ? "holds at this budget"
    : c.verdict === "reversed"
    ? "is reversed at this budget"
    : "is not resolved at this budget";
  return `Table 2's ordering ${c.better.row} (${c.better.paper}) < ${c.worse.row} (${c.worse.paper}) ${what}: ${c.why}.`;
}
