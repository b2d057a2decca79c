/**
 * The optimised training path keeps the model's numbers: the losses, gradient norms and per-glimpse KL of
 * fixed-seed runs match those recorded from the unoptimised implementation (tf ops and tfjs autodiff on the
 * wasm backend, before any of the speed work) in bench/equivalence_expected.json, to float32 tolerance.
 * Regenerate that file only for an intended change of the model's numbers.
 */
import { assert, assertEquals } from "@std/assert";
import { initBackend } from "../lib/backend.ts";
import { CASES, runCase, type StepRecord } from "./equivalence_cases.ts";
import expected from "./equivalence_expected.json" with { type: "json" };

const RECORDED = expected as unknown as Record<string, StepRecord[]>;

function close(actual: number, want: number, rel: number, abs: number, what: string): void {
  const err = Math.abs(actual - want);
  assert(
    err <= abs + rel * Math.abs(want),
    `${what}: got ${actual}, recorded ${want} (|diff| ${err.toExponential(2)})`,
  );
}

function compare(got: StepRecord[], want: StepRecord[], label: string): void {
  assertEquals(got.length, want.length);
  got.forEach((g, s) => {
    const w = want[s];
    close(g.loss, w.loss, 1e-4, 0, `${label} step ${s + 1} loss`);
    close(g.lossX, w.lossX, 1e-4, 0, `${label} step ${s + 1} lossX`);
    close(g.lossZ, w.lossZ, 1e-4, 1e-5, `${label} step ${s + 1} lossZ`);
    close(g.globalNorm, w.globalNorm, 1e-3, 0, `${label} step ${s + 1} gradient norm`);
    g.klPerStep.forEach((k, t) =>
      close(k, w.klPerStep[t], 1e-3, 1e-5, `${label} step ${s + 1} KL of glimpse ${t + 1}`)
    );
  });
}

for (const backend of ["wasm", "cpu"] as const) {
  for (const impl of ["fused", "tape"] as const) {
    Deno.test(`five fixed-seed Adam steps on ${backend} (${impl} gradients) match the recorded unoptimised losses`, async () => {
      await initBackend(backend);
      for (const c of CASES) compare(runCase(c, impl), RECORDED[c.name], `${c.name} (${backend}, ${impl})`);
    });
  }
}

Deno.test("the fused training path is deterministic: the same seed gives bit-identical losses on wasm", async () => {
  await initBackend("wasm");
  for (const c of CASES) assertEquals(runCase(c, "fused"), runCase(c, "fused"));
});
