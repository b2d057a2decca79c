import { assertEquals, assertStringIncludes } from "@std/assert";
import { writeFixtureRuns } from "../../tests/fixtures/report/synthetic.ts";
import { main } from "./cli.ts";

/** Runs `fn` with console output captured. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await fn(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("`report` without a name renders every experiment folder and the index", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeFixtureRuns(`${root}/runs`);
    const r = await captured(() =>
      main([
        "--runs-dir",
        `${root}/runs`,
        "--reports-dir",
        `${root}/reports`,
        "--experiments-dir",
        `${root}/none`,
      ])
    );
    assertEquals(r.code, 0, r.err);
    for (const name of ["attention-ablation", "mnist-dynamic", "timesteps", "index"]) {
      assertStringIncludes(r.out, `wrote ${root}/reports/${name}.html`);
      await Deno.stat(`${root}/reports/${name}.html`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("`report NAME` uses the experiment file's paperTargets and warns about a wrong one", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeFixtureRuns(`${root}/runs`);
    await Deno.mkdir(`${root}/experiments`);
    await Deno.writeTextFile(
      `${root}/experiments/timesteps.ts`,
      `export default { description: "T sweep", paperTargets: [{ row: "DBN 2hl", tolerance: 100 }] };`,
    );
    await Deno.writeTextFile(
      `${root}/experiments/mnist-dynamic.ts`,
      `export default { paperTargets: ["DRAW 3"] };`,
    );
    const args = [
      "--runs-dir",
      `${root}/runs`,
      "--reports-dir",
      `${root}/reports`,
      "--experiments-dir",
      `${root}/experiments`,
    ];
    const r = await captured(() => main(["timesteps", "mnist-dynamic", ...args]));
    assertEquals(r.code, 0, r.err);
    assertStringIncludes(r.err, 'paperTargets[0] names no Table 2 row: "DRAW 3"');
    const html = await Deno.readTextFile(`${root}/reports/timesteps.html`);
    assertStringIncludes(html, "T sweep");
    assertStringIncludes(html, "paper ≤ 84.55 (DBN 2hl)");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("`report` refuses an unknown option and reports a missing runs folder", async () => {
  const bad = await captured(() => main(["--runs", "x"]));
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.err, "Unknown option --runs");
  const missing = await captured(() => main(["--runs-dir", "/nonexistent/runs"]));
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.err, "The runs folder /nonexistent/runs does not exist");
});
