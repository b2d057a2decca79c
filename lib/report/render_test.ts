import { assertEquals, assertGreater, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { writeFixtureRuns } from "../../tests/fixtures/report/synthetic.ts";
import { staticReportProblems } from "./check.ts";
import { checkExperimentName, readDigest, renderExperimentReport, renderIndex } from "./render.ts";

async function withRuns(fn: (runsDir: string, reportsDir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "redraw-report-test-" });
  try {
    await writeFixtureRuns(`${root}/runs`);
    await fn(`${root}/runs`, `${root}/reports`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("renderExperimentReport() reads run folders (torn line included) and writes one self-contained page", async () => {
  await withRuns(async (runsDir, reportsDir) => {
    const r = await renderExperimentReport("attention-ablation", { runsDir, reportsDir });
    assertEquals(r.path, `${reportsDir}/attention-ablation.html`);
    assertEquals(r.warnings, []);
    assertEquals(r.charts, 7);
    const html = await Deno.readTextFile(r.path);
    assertEquals(new TextEncoder().encode(html).length, r.bytes);
    assertEquals(staticReportProblems(html), []);
    assertStringIncludes(html, "metrics.jsonl: ignored an unfinished last line");
    assertEquals(readDigest(html)?.arms.length, 2);
  });
});

Deno.test("renderIndex() links every experiment report with its verdicts", async () => {
  await withRuns(async (runsDir, reportsDir) => {
    for (const name of ["attention-ablation", "timesteps", "mnist-dynamic"]) {
      await renderExperimentReport(name, { runsDir, reportsDir });
    }
    const { path } = await renderIndex(reportsDir);
    const html = await Deno.readTextFile(path);
    for (const name of ["attention-ablation", "timesteps", "mnist-dynamic"]) {
      assertStringIncludes(html, `href="${name}.html"`);
    }
    assertStringIncludes(html, "not comparable");
    assertStringIncludes(html, "failed");
    assertEquals(staticReportProblems(html), []);
  });
});

Deno.test("the interactive report inlines vega, vega-lite and vega-embed and still references no network", async () => {
  await withRuns(async (runsDir, reportsDir) => {
    const r = await renderExperimentReport("mnist-dynamic", { runsDir, reportsDir, interactive: true });
    const html = await Deno.readTextFile(r.path);
    assertGreater(r.bytes, 600_000);
    assertStringIncludes(html, "vegaEmbed");
    assertEquals(staticReportProblems(html), []);
  });
});

Deno.test("a report for an experiment without runs is an error that says how to make them", async () => {
  await withRuns(async (runsDir, reportsDir) => {
    await assertRejects(
      () => renderExperimentReport("latent", { runsDir, reportsDir }),
      Error,
      "run `deno task exp latent` first",
    );
  });
});

Deno.test("experiment names that are not plain folder names, or 'index', are refused", async () => {
  for (const bad of ["../x", "a/b", "", "..", "<script>", "index"]) {
    assertThrows(() => checkExperimentName(bad), Error, bad === "index" ? "index page" : "Experiment name");
  }
  checkExperimentName("attention-ablation");
  await assertRejects(
    () => renderExperimentReport("<img src=x onerror=alert(1)>", { runsDir: "runs", reportsDir: "reports" }),
    Error,
    "Experiment name",
  );
});
