// The cluster job files: the Kubernetes manifests validated against the Kubernetes API schema
// (npm:kubernetes-models, the OpenAPI schema compiled to validators), and every job file checked for what
// the runner relies on (shard variables, no shell or `deno task` between the scheduler and the runner, the
// runs and reports folders inside the checkout, one report after the shards, no data folder beside the
// checkout). The Slurm files run for real in deploy/slurm/selftest.sh.
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { Job } from "kubernetes-models/batch/v1";
import { PersistentVolumeClaim } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { parseExpArgs } from "../lib/exp/args.ts";
import { loadExperiment } from "../lib/exp/validate.ts";

const DIR = new URL(".", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function readYaml(name: string): Doc[] {
  return parseAllDocuments(Deno.readTextFileSync(`${DIR}k8s/${name}`)).map((d) => {
    assertEquals(d.errors, [], `${name}: YAML errors`);
    return d.toJS() as Doc;
  });
}

/** Validates a document against the Kubernetes API schema of its kind; throws with the schema's message. */
function validate(doc: Doc): void {
  if (doc.apiVersion === "batch/v1" && doc.kind === "Job") new Job(doc).validate();
  else if (doc.apiVersion === "v1" && doc.kind === "PersistentVolumeClaim") {
    new PersistentVolumeClaim(doc).validate();
  } else throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
}

const indexed = () => readYaml("exp-indexed-job.yaml");
const report = () => readYaml("exp-report-job.yaml");
const container = (job: Doc) => job.spec.template.spec.containers[0];

Deno.test("the Kubernetes manifests are valid against the Kubernetes API schema", () => {
  const docs = [...indexed(), ...report()];
  assertEquals(docs.map((d) => d.kind), ["PersistentVolumeClaim", "Job", "Job"]);
  for (const d of docs) validate(d);
});

Deno.test("the schema validator refuses a wrong mode, a wrong type and a wrong restart policy", () => {
  const job = () => structuredClone(indexed()[1]);
  const a = job();
  a.spec.completionMode = "Indexd";
  assertThrows(() => validate(a), Error, "completionMode must be equal to one of the allowed values");
  const b = job();
  b.spec.completions = "four";
  assertThrows(() => validate(b), Error, "completions must be integer");
  const c = job();
  c.spec.template.spec.restartPolicy = "Sometimes";
  assertThrows(() => validate(c), Error, "restartPolicy must be equal to one of the allowed values");
});

Deno.test("each pod of the Indexed Job runs its own shard of the same plan, and the report job reads all", async () => {
  const [claim, job] = indexed();
  const [rep] = report();
  assertEquals(job.spec.completionMode, "Indexed");
  assert(job.spec.parallelism <= job.spec.completions);
  const c = container(job);
  // No shell or `deno task` in between: Kubernetes' SIGTERM reaches the runner (PID 1), which checkpoints.
  assertEquals(c.command, ["deno", "run", "-q", "-P=exp", "lib/exp/cli.ts"]);
  assertEquals(container(rep).command, c.command);
  assertEquals(job.spec.template.spec.restartPolicy, "Never");
  assert(job.spec.template.spec.terminationGracePeriodSeconds >= 30, "time to write a checkpoint");
  const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value]));
  assertEquals(Number(env.JOB_COMPLETIONS), job.spec.completions, "JOB_COMPLETIONS equals spec.completions");

  const shards = [];
  for (let i = 0; i < job.spec.completions; i++) {
    const a = parseExpArgs(c.args, { ...env, JOB_COMPLETION_INDEX: String(i) });
    assertEquals([a.report, a.reportOnly, a.runsDir, a.reportsDir], [false, false, "runs", "reports"]);
    shards.push(a.shard);
  }
  assertEquals(shards, [0, 1, 2, 3].map((index) => ({ index, count: 4 })));
  const r = parseExpArgs(container(rep).args);
  assert(r.reportOnly);
  const a = parseExpArgs(c.args, { ...env, JOB_COMPLETION_INDEX: "0" });
  const plan = (x: typeof a) => [x.name, x.profile, x.seeds, x.only, x.dataDir];
  assertEquals(plan(r), plan(a), "the report job plans the same runs");
  const exp = await loadExperiment(a.name);
  assert(exp.profiles[a.profile], `${a.name} has the profile ${a.profile}`);

  // runs/ and reports/ of the checkout (the only folders `exp` may write) are on the shared claim.
  for (const j of [job, rep]) {
    const mounts = container(j).volumeMounts.map((m: Doc) => [m.mountPath, m.subPath]);
    const shared = j.spec.template.spec.volumes.find((v: Doc) => v.persistentVolumeClaim);
    assertEquals(shared.persistentVolumeClaim.claimName, claim.metadata.name);
    const wd = container(j).workingDir;
    for (const dir of ["runs", "reports"]) assert(mounts.some(([p]: string[]) => p === `${wd}/${dir}`), dir);
  }
  assertEquals(claim.spec.accessModes, ["ReadWriteMany"]);
});

Deno.test("no job file takes its data from a folder beside the checkout", () => {
  const files = [
    "slurm/exp-array.sbatch",
    "slurm/exp-report.sbatch",
    "slurm/submit.sh",
    "k8s/exp-indexed-job.yaml",
  ];
  for (const f of files) {
    const text = Deno.readTextFileSync(`${DIR}${f}`);
    assert(!/shared\/data/.test(text), `${f} names shared/data`);
    assert(!/DATA_DIR:-/.test(text), `${f} gives the data folder a default of its own`);
    assert(!/--data-dir[ =]+["']?\.\./.test(text), `${f} passes a --data-dir outside the checkout`);
  }
  // The Slurm array task runs the runner itself (exec), its shard from Slurm's variables, no report.
  const sbatch = Deno.readTextFileSync(`${DIR}slurm/exp-array.sbatch`);
  assertMatch(sbatch, /^exec deno run -q -P=exp lib\/exp\/cli\.ts "\$@" --shard env .*\n.*--no-report$/m);
  assertMatch(sbatch, /^#SBATCH --requeue$/m);
  assertMatch(sbatch, /^#SBATCH --signal=B:TERM@\d+$/m);
  assert(!/^#SBATCH --gres/m.test(sbatch), "the default submits on a CPU-only cluster");
});
