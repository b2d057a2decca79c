// A corrupted or swapped dataset file is refused with the expected and actual SHA-256, and nothing trains:
// no manifest, metric, checkpoint or result is written for any cell.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { sha256Hex } from "../../lib/record/io.ts";
import { DATA_FILES, FIXTURE_FILES } from "../../lib/data/sources.ts";
import { assertExit, hasStackTrace, note, type Project, type Ran, smoke, withProject } from "./harness.ts";

const BIN = "tests/fixtures/data/binarized_mnist";

async function gunzip(path: string): Promise<Uint8Array> {
  const stream = (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gzipTo(path: string, data: Uint8Array): Promise<void> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
}

/** Every file under the project's runs folder (there must be no record of any kind). */
async function recordFiles(p: Project): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else out.push(`${d}/${e.name}`.slice(p.runs.length + 1));
    }
  };
  await walk(p.runs).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out;
}

async function assertRefused(
  p: Project,
  r: Ran,
  path: string,
  expected: string,
  actual: string,
): Promise<void> {
  assertExit(r, 1, "exp with a bad data file");
  const out = r.stdout + r.stderr;
  assertStringIncludes(
    out,
    `${path} is not the published binarized_mnist_train.amat: its content has SHA-256 ${actual}`,
  );
  assertStringIncludes(out, `expected SHA-256 ${expected}. The file was not used`);
  assert(!hasStackTrace(out), out);
  assertEquals(await recordFiles(p), [], "nothing may be recorded when the data is refused");
  assert(!/train step/.test(out), "no step may run");
}

Deno.test("a fixture data file with one flipped pixel is refused with expected vs actual SHA-256; nothing trains", () =>
  withProject(async (p) => {
    const gz = `${p.dir}/${BIN}/binarized_mnist_train.amat.gz`;
    const content = await gunzip(gz);
    const i = content.indexOf(0x30); // the first "0" pixel becomes "1"
    content[i] = 0x31;
    await gzipTo(gz, content);
    const r = await smoke(p);
    await assertRefused(p, r, gz, FIXTURE_FILES.binarizedTrain.sha256, await sha256Hex(content));
    note(`corrupted fixture (1 pixel flipped): exit ${r.code}, refused with both hashes, 0 record files`);
  }, { copyFixtures: true }));

Deno.test("a fixture data file swapped for another split's is refused with expected vs actual SHA-256", () =>
  withProject(async (p) => {
    const dir = `${p.dir}/${BIN}`;
    await Deno.copyFile(`${dir}/binarized_mnist_valid.amat.gz`, `${dir}/binarized_mnist_train.amat.gz`);
    const r = await smoke(p);
    const gz = `${dir}/binarized_mnist_train.amat.gz`;
    await assertRefused(p, r, gz, FIXTURE_FILES.binarizedTrain.sha256, FIXTURE_FILES.binarizedValid.sha256);
    note(`swapped fixture (valid split as train): exit ${r.code}, refused with both hashes`);
  }, { copyFixtures: true }));

Deno.test("a --data-dir holding other files under the real names is refused against the published hashes", () =>
  withProject(async (p) => {
    const dataDir = `${p.dir}/data`; // laid out like a real data dir, but holding the 256-row fixtures
    await Deno.mkdir(`${dataDir}/binarized_mnist`, { recursive: true });
    for (const split of ["train", "valid", "test"]) {
      const name = `binarized_mnist_${split}.amat.gz`;
      await Deno.copyFile(`${p.dir}/${BIN}/${name}`, `${dataDir}/binarized_mnist/${name}`);
    }
    const r = await smoke(p, ["--data-dir", dataDir]);
    const gz = `${dataDir}/binarized_mnist/binarized_mnist_train.amat.gz`;
    await assertRefused(p, r, gz, DATA_FILES.binarizedTrain.sha256, FIXTURE_FILES.binarizedTrain.sha256);
    note(`real data dir holding the wrong files: exit ${r.code}, refused against the published pins`);
  }));

Deno.test("a fixture .gz with a damaged byte is refused with a message naming the file; nothing trains", () =>
  withProject(async (p) => {
    const gz = `${p.dir}/${BIN}/binarized_mnist_train.amat.gz`;
    const bytes = await Deno.readFile(gz);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(gz, bytes);
    const r = await smoke(p);
    assertExit(r, 1, "exp with a damaged .gz");
    const out = r.stdout + r.stderr;
    assertStringIncludes(out, gz);
    assert(!hasStackTrace(out), out);
    assertEquals(await recordFiles(p), []);
    note(`damaged gzip byte: exit ${r.code}: ${out.split("\n").find((l) => l.includes(gz))?.trim()}`);
  }, { copyFixtures: true }));
