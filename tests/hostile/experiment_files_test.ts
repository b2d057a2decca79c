// Malformed and malicious experiment files through the real `exp` CLI: each is refused with exit status 2
// and its own message naming the file and the key, never with a stack trace, before anything runs, and
// nothing is written anywhere (not in runs/ or reports/, not in the project, not beside it).
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { EXIT } from "../../lib/exp/cli.ts";
import { hasStackTrace, type Project, runCli, show, withProject } from "../faults/harness.ts";

/** A valid experiment named `name`, as statements defining `base`; `body` makes the default export. */
function source(name: string, body: string): string {
  return `import { SMOKE_PROFILE } from "../lib/exp/define.ts";
const base = {
  name: ${JSON.stringify(name)},
  description: "hostile input",
  base: { preset: "paper" },
  factors: { attention: [true, false] },
  seeds: [1],
  profiles: { smoke: SMOKE_PROFILE, quick: SMOKE_PROFILE, paper: SMOKE_PROFILE },
};
${body}
`;
}

const ESCAPED = `redraw-escaped-${crypto.randomUUID()}.txt`;

/** [file name, file content, expected message after "exp: hostile/<file>: "]. */
const CASES: Array<[string, string, string]> = [
  ["syntax.ts", source("syntax", "export default { ...base,, };"), "has a syntax error"],
  ["no-default.ts", source("no-default", "export const experiment = base;"), "has no default export"],
  ["number.ts", source("number", "export default 42;"), "the default export must be an object like"],
  ["array.ts", source("array", "export default [base];"), "the default export must be an object like"],
  [
    "unknown-key.ts",
    source("unknown-key", `export default { ...base, colour: "red" };`),
    "colour is not an experiment key",
  ],
  [
    "missing.ts",
    source("missing", "const { seeds: _s, ...rest } = base;\nexport default rest;"),
    "seeds is missing",
  ],
  [
    "name-type.ts",
    source("name-type", "export default { ...base, name: 42 };"),
    "name must be a string, got 42",
  ],
  [
    "dotdot.ts",
    source("dotdot", `export default { ...base, name: "../../etc" };`),
    `name "../../etc" must be lower-case`,
  ],
  ["slash.ts", source("slash", `export default { ...base, name: "a/b" };`), `name "a/b" must be lower-case`],
  [
    "other-name.ts",
    source("smoke", "export default base;"),
    `name "smoke" must equal the file name "other-name"`,
  ],
  [
    "bad-preset.ts",
    source("bad-preset", `export default { ...base, base: { preset: "huge" } };`),
    `base.preset "huge" is not a model preset`,
  ],
  [
    "empty-values.ts",
    source("empty-values", "export default { ...base, factors: { attention: [] } };"),
    "factors.attention is empty: give at least one value",
  ],
  ["t-string.ts", source("t-string", `export default { ...base, factors: { T: ["ten"] } };`), "factors.T[0]"],
  [
    "t-negative.ts",
    source("t-negative", "export default { ...base, factors: { T: [4, -1] } };"),
    "factors.T[1]",
  ],
  ["t-huge.ts", source("t-huge", "export default { ...base, factors: { T: [1e9] } };"), "factors.T[0]"],
  [
    "lr-nan.ts",
    source("lr-nan", 'export default { ...base, base: { preset: "paper", train: { learningRate: NaN } } };'),
    "base.train.learningRate must be a finite number, got NaN",
  ],
  [
    "batch-inf.ts",
    source("batch-inf", "export default { ...base, factors: { batchSize: [16, Infinity] } };"),
    "factors.batchSize[1] must be a finite number, got Infinity",
  ],
  [
    "budget-negative.ts",
    source(
      "budget-negative",
      "export default { ...base, profiles: { ...base.profiles, smoke: { train: { budget: { steps: -5 } } } } };",
    ),
    "profiles.smoke.train.budget",
  ],
  [
    "seeds-zero.ts",
    source("seeds-zero", "export default { ...base, seeds: [0] };"),
    "seeds[0] must be an integer from 1",
  ],
  [
    "seeds-dup.ts",
    source("seeds-dup", "export default { ...base, seeds: [3, 3] };"),
    "seeds[1] repeats seeds[0] (3)",
  ],
  [
    "million.ts",
    source(
      "million",
      "const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];\n" +
        "export default { ...base, factors: { T: ten, nZ: ten, encSize: ten, decSize: ten, batchSize: ten, " +
        "evalSamples: ten } };",
    ),
    "the grid has 1,000,000 runs (cells x seeds); at most",
  ],
  [
    "unknown-setting.ts",
    source("unknown-setting", "export default { ...base, factors: { colour: [{ hue: 1 }] } };"),
    "factors.colour[0].hue is not a model or training setting",
  ],
  [
    "where-none.ts",
    source("where-none", "export default { ...base, where: () => false };"),
    "where/exclude leave no cells to run",
  ],
  [
    "where-throws.ts",
    source(
      "where-throws",
      `export default { ...base, where: () => { throw new Error("where exploded"); } };`,
    ),
    "where exploded",
  ],
  [
    "target-row.ts",
    source("target-row", `export default { ...base, paperTargets: () => "GPT-4" };`),
    `"GPT-4" is not a Table 2 row`,
  ],
  [
    "throws.ts",
    source("throws", `throw new Error("boom at import");`),
    "could not be loaded: boom at import",
  ],
  [
    "tfjs.ts",
    `import * as tf from "@tensorflow/tfjs";\n${source("tfjs", "export default { ...base, x: tf };")}`,
    `imports "@tensorflow/tfjs"; an experiment file may import only`,
  ],
  [
    "writes-outside.ts",
    source("writes-outside", `Deno.writeTextFileSync("../${ESCAPED}", "pwned");\nexport default base;`),
    "could not be loaded: Requires write access to",
  ],
  [
    "writes-lib.ts",
    source("writes-lib", `Deno.writeTextFileSync("lib/pwned.ts", "pwned");\nexport default base;`),
    "could not be loaded: Requires write access to",
  ],
  [
    "spawns-shell.ts",
    source(
      "spawns-shell",
      `new Deno.Command("sh", { args: ["-c", "touch pwned"] }).outputSync();\nexport default base;`,
    ),
    `could not be loaded: Requires run access to "sh"`,
  ],
  [
    "phones-home.ts",
    source("phones-home", `await fetch("http://example.com/");\nexport default base;`),
    `could not be loaded: Requires net access to "example.com:80"`,
  ],
  [
    "proxy.ts",
    source("proxy", `export default new Proxy(base, { get() { throw new Error("trap"); } });`),
    "threw while being read: trap",
  ],
  [
    "huge.ts",
    `// ${"x".repeat(1_100_000)}\n${source("huge", "export default base;")}`,
    "bytes; an experiment file is a",
  ],
];

/** Every path under the project except the symlinked code (to prove nothing was written). */
async function listing(p: Project): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      out.push(`${rel}${e.name}`);
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
    }
  };
  await walk(p.dir, "");
  return out.sort();
}

Deno.test(`exp refuses ${CASES.length} malformed or malicious experiment files with exit 2 and a message, writing nothing`, () =>
  withProject(async (p) => {
    await Deno.mkdir(`${p.dir}/hostile`);
    for (const [file, text] of CASES) await Deno.writeTextFile(`${p.dir}/hostile/${file}`, text);
    const before = await listing(p);
    const failures: string[] = [];
    for (const [file, , expected] of CASES) {
      const r = await runCli(p.dir, "exp", [`hostile/${file}`, "--profile", "smoke"]);
      const problems = [
        r.code !== EXIT.usage && `exit ${r.code}`,
        !r.stderr.startsWith(`exp: hostile/${file}: `) && "the message does not start with the file",
        !r.stderr.includes(expected) && `no ${JSON.stringify(expected)}`,
        hasStackTrace(r.stderr + r.stdout) && "a stack trace",
        r.stdout !== "" && "output on stdout",
      ].filter(Boolean);
      if (problems.length) failures.push(`${file}: ${problems.join(", ")}\n${show(r)}`);
    }
    assertEquals(failures, [], failures.join("\n\n"));
    assertEquals(await listing(p), before, "a refused experiment file wrote something");
    await Deno.stat(`${p.dir}/../${ESCAPED}`).then(
      () => assert(false, "an experiment file wrote outside the project"),
      (e) => assert(e instanceof Deno.errors.NotFound),
    );
  }));

Deno.test("exp refuses experiment names that are paths, missing files and non-files, with exit 2", () =>
  withProject(async (p) => {
    await Deno.mkdir(`${p.dir}/dir.ts`);
    const cases: Array<[string, string]> = [
      ["../etc", `exp: Experiment name "../etc" is not valid`],
      ["a/b", `exp: Experiment name "a/b" is not valid`],
      ["..", `exp: Experiment name ".." is not valid`],
      ["Smoke", `exp: Experiment name "Smoke" is not valid`],
      ["no-such-experiment", "experiments/no-such-experiment.ts: no such experiment file (experiments: "],
      ["missing.ts", "missing.ts: no such experiment file"],
      ["dir.ts", "dir.ts: is not a file"],
      ["", "exp: Missing experiment name"],
    ];
    for (const [name, expected] of cases) {
      const r = await runCli(p.dir, "exp", name === "" ? [] : [name]);
      assertEquals(r.code, EXIT.usage, `${name}\n${show(r)}`);
      assertStringIncludes(r.stderr, expected);
      assert(!hasStackTrace(r.stderr), r.stderr);
    }
    for (const d of ["runs", "reports"]) {
      await Deno.stat(`${p.dir}/${d}`).then(() => assert(false, `${d}/ was created`), () => {});
    }
  }));
