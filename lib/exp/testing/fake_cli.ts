/**
 * The `exp` CLI with the fake trainer, for tests that run several runner processes at once. Same flags as
 * lib/exp/cli.ts; `FAKE_STEPS` and `FAKE_STEP_MS` (environment) set the fake's steps and step time;
 * `FAKE_NO_REPORT=1` skips the HTML report.
 * @module
 */
import { main } from "../cli.ts";
import { fakeTrainer } from "./fake_trainer.ts";

if (import.meta.main) {
  const steps = Number(Deno.env.get("FAKE_STEPS") ?? "5");
  const stepMs = Number(Deno.env.get("FAKE_STEP_MS") ?? "20");
  const render = Deno.env.get("FAKE_NO_REPORT") ? false : undefined;
  Deno.exit(await main(Deno.args, { trainer: fakeTrainer({ steps, stepMs }), render }));
}
