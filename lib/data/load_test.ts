import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { resolveDataDir } from "./datadir.ts";
import { ChecksumError, DataError, MissingDataError } from "./errors.ts";
import { loadDataset } from "./load.ts";
import { datasetRecord } from "./record.ts";
import { DATA_FILES, FIXTURE_FILES } from "./sources.ts";
import { amatText, copyFixtures, fixtureContent, gzip, patternRow, withTempDir } from "./test_util.ts";

function mean(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

Deno.test("loadDataset() loads each binarized MNIST fixture split, verified against its pin", async () => {
  for (const split of ["train", "valid", "test"] as const) {
    const ds = await loadDataset("binarized-mnist", split, { fixtures: true });
    const spec = FIXTURE_FILES[`binarized${split[0].toUpperCase()}${split.slice(1)}` as "binarizedTrain"];
    assertEquals([ds.name, ds.split, ds.n, ds.images.length, ds.binarize], [
      "binarized-mnist",
      split,
      256,
      256 * 784,
      "none",
    ]);
    assertEquals(ds.sha256, spec.sha256);
    assertEquals(ds.files, { [`binarized_mnist_${split}.amat`]: spec.sha256 });
    assert(ds.images.every((v) => v === 0 || v === 1), "values are 0/1");
    const m = mean(ds.images);
    assert(m > 0.1 && m < 0.17, `mean pixel ${m} is near MNIST's 0.13`);
    assertEquals(ds.labels, undefined);
  }
});

Deno.test("loadDataset() splits the MNIST fixture's IDX train file into train and the last validSize as valid", async () => {
  const train = await loadDataset("mnist", "train", { fixtures: true, binarize: "none" });
  const valid = await loadDataset("mnist", "valid", { fixtures: true, binarize: "none" });
  const all = await loadDataset("mnist", "train", { fixtures: true, binarize: "none", validSize: 0 });
  assertEquals([train.n, valid.n, all.n, train.offset, valid.offset], [192, 64, 256, 0, 192]);
  assertEquals(Array.from(train.labels!.subarray(0, 10)).join(","), "5,0,4,1,9,2,1,3,1,4");
  assertEquals(all.images.subarray(192 * 784), valid.images);
  assertEquals(all.labels!.subarray(0, 192), train.labels);
  assertEquals(train.sha256, FIXTURE_FILES.mnistTrainImages.sha256);
  assertEquals(train.files, {
    "train-images-idx3-ubyte": FIXTURE_FILES.mnistTrainImages.sha256,
    "train-labels-idx1-ubyte": FIXTURE_FILES.mnistTrainLabels.sha256,
  });
  const v100 = await loadDataset("mnist", "valid", { fixtures: true, validSize: 100 });
  assertEquals([v100.n, v100.offset], [100, 156]);
});

Deno.test("loadDataset() scales MNIST grey levels to [0, 1] and thresholds at pixel > 127", async () => {
  const grey = await loadDataset("mnist", "test", { fixtures: true, binarize: "dynamic" });
  const bin = await loadDataset("mnist", "test", { fixtures: true, binarize: "threshold" });
  const raw = (await fixtureContent("mnist", "t10k-images-idx3-ubyte")).subarray(16);
  assertEquals([grey.n, grey.binarize, bin.binarize], [256, "dynamic", "threshold"]);
  assertEquals(Array.from(grey.labels!.subarray(0, 10)).join(","), "7,2,1,0,4,1,4,9,5,9");
  for (let i = 0; i < raw.length; i++) {
    if (Math.abs(grey.images[i] - raw[i] / 255) > 1e-7 || bin.images[i] !== (raw[i] > 127 ? 1 : 0)) {
      throw new Error(`pixel ${i} (grey level ${raw[i]}) became ${grey.images[i]} and ${bin.images[i]}`);
    }
  }
  assert(raw.some((g) => g > 0 && g < 255), "the fixture has intermediate grey levels");
});

Deno.test("loadDataset() with limit keeps the first rows of the split", async () => {
  const full = await loadDataset("mnist", "valid", { fixtures: true });
  const few = await loadDataset("mnist", "valid", { fixtures: true, limit: 10 });
  assertEquals([few.n, few.offset], [10, 192]);
  assertEquals(few.images, full.images.subarray(0, 10 * 784));
  assertEquals(few.labels, full.labels!.subarray(0, 10));
  const bin = await loadDataset("binarized-mnist", "test", { fixtures: true, limit: 1000 });
  assertEquals(bin.n, 256);
});

Deno.test("loadDataset() finds files at the top level or in subfolders, raw or gzip", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(
      join(dir, "binarized_mnist_valid.amat"),
      await fixtureContent("binarized_mnist", "binarized_mnist_valid.amat"),
    );
    await Deno.mkdir(join(dir, "mnist"));
    await Deno.writeFile(
      join(dir, "mnist", "t10k-images-idx3-ubyte"),
      await fixtureContent("mnist", "t10k-images-idx3-ubyte"),
    );
    await Deno.writeFile(
      join(dir, "t10k-labels-idx1-ubyte.gz"),
      gzip(await fixtureContent("mnist", "t10k-labels-idx1-ubyte")),
    );
    const valid = await loadDataset("binarized-mnist", "valid", { fixtures: true, dataDir: dir });
    assertEquals(valid.paths, { "binarized_mnist_valid.amat": join(dir, "binarized_mnist_valid.amat") });
    const test = await loadDataset("mnist", "test", { fixtures: true, dataDir: dir });
    assertEquals(test.paths, {
      "t10k-images-idx3-ubyte": join(dir, "mnist", "t10k-images-idx3-ubyte"),
      "t10k-labels-idx1-ubyte": join(dir, "t10k-labels-idx1-ubyte.gz"),
    });
    assertEquals(test.n, 256);
  });
});

Deno.test("resolveDataDir() prefers the option, then REDRAW_DATA_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
  const saved = ["REDRAW_DATA_DIR", "XDG_CACHE_HOME", "HOME"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    Deno.env.set("REDRAW_DATA_DIR", "/from/env");
    Deno.env.set("XDG_CACHE_HOME", "/xdg");
    Deno.env.set("HOME", "/home/me");
    assertEquals(resolveDataDir({ dataDir: "/opt" }), "/opt");
    assertEquals(resolveDataDir(), "/from/env");
    Deno.env.delete("REDRAW_DATA_DIR");
    assertEquals(resolveDataDir(), "/xdg/redraw");
    Deno.env.delete("XDG_CACHE_HOME");
    assertEquals(resolveDataDir(), "/home/me/.cache/redraw");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("loadDataset() offline with files missing throws one error listing each file, its place and SHA-256", async () => {
  await withTempDir(async (dir) => {
    const e = await assertRejects(() => loadDataset("mnist", "train", { dataDir: dir }), MissingDataError);
    assertEquals(e.missing.map((m) => m.name), ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]);
    for (const spec of [DATA_FILES.mnistTrainImages, DATA_FILES.mnistTrainLabels]) {
      assertStringIncludes(e.message, `put it at: ${join(dir, "mnist", `${spec.name}.gz`)}`);
      assertStringIncludes(e.message, spec.remote.url);
      assertStringIncludes(e.message, spec.remote.sha256);
      assertStringIncludes(e.message, spec.sha256);
    }
    assertStringIncludes(e.message, "2 files not found");
    assertStringIncludes(e.message, "--download");
    const b = await assertRejects(
      () => loadDataset("binarized-mnist", "test", { dataDir: dir, shippedDir: null }),
      MissingDataError,
    );
    assertStringIncludes(
      b.message,
      `put it at: ${join(dir, "binarized_mnist", "binarized_mnist_test.amat")}`,
    );
    assertStringIncludes(b.message, DATA_FILES.binarizedTest.sha256);
  });
});

Deno.test("loadDataset() refuses a directory where a data file should be", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "binarized_mnist", "binarized_mnist_train.amat"), { recursive: true });
    const e = await assertRejects(() => loadDataset("binarized-mnist", "train", { dataDir: dir }), DataError);
    assertMatch(e.message, /binarized_mnist_train\.amat is a directory/);
  });
});

/** Writes fixture files into a temp dir, lets `spoil` damage one, and returns the load's error. */
async function loadSpoiled(
  name: "binarized-mnist" | "mnist",
  split: "train" | "valid" | "test",
  spoil: (dir: string) => Promise<void>,
): Promise<DataError> {
  return await withTempDir(async (dir) => {
    await copyFixtures(dir);
    await spoil(dir);
    return await assertRejects(() => loadDataset(name, split, { fixtures: true, dataDir: dir }), DataError);
  });
}

Deno.test("loadDataset() refuses a truncated gzip file", async () => {
  const e = await loadSpoiled("binarized-mnist", "train", async (dir) => {
    const path = join(dir, "binarized_mnist", "binarized_mnist_train.amat.gz");
    const gz = await Deno.readFile(path);
    await Deno.writeFile(path, gz.subarray(0, gz.length - 20));
  });
  assertMatch(e.message, /binarized_mnist_train\.amat\.gz: cannot decompress: unexpected end of file/);
});

Deno.test("loadDataset() refuses an .amat row of the wrong length or with a character other than 0/1", async () => {
  const rows = Array.from({ length: 256 }, (_, i) => patternRow(i));
  rows[7] = patternRow(7, 780);
  const short = await loadSpoiled("binarized-mnist", "test", async (dir) => {
    await Deno.remove(join(dir, "binarized_mnist", "binarized_mnist_test.amat.gz"));
    await Deno.writeFile(join(dir, "binarized_mnist", "binarized_mnist_test.amat"), amatText(rows));
  });
  assertStringIncludes(short.message, "binarized_mnist_test.amat: line 8 has 780 values; expected 784");
  assertEquals(short.offset, 7 * 1568);
  const badChar = await loadSpoiled("binarized-mnist", "test", async (dir) => {
    const content = await fixtureContent("binarized_mnist", "binarized_mnist_test.amat");
    content[1568 * 100 + 2 * 300] = "x".charCodeAt(0);
    await Deno.writeFile(join(dir, "binarized_mnist", "binarized_mnist_test.amat.gz"), gzip(content));
  });
  assertStringIncludes(badChar.message, "line 101, value 301");
  assertStringIncludes(badChar.message, `byte offset ${1568 * 100 + 600}`);
  assertStringIncludes(badChar.message, "found 'x' (0x78)");
});

Deno.test("loadDataset() refuses a wrong IDX magic number and a wrong image count", async () => {
  const magic = await loadSpoiled("mnist", "test", async (dir) => {
    const labels = await Deno.readFile(join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"));
    await Deno.writeFile(join(dir, "mnist", "t10k-images-idx3-ubyte.gz"), labels);
  });
  assertStringIncludes(magic.message, "t10k-images-idx3-ubyte.gz: wrong IDX magic number at byte offset 0");
  const count = await loadSpoiled("mnist", "test", async (dir) => {
    const content = await fixtureContent("mnist", "t10k-images-idx3-ubyte");
    await Deno.writeFile(
      join(dir, "mnist", "t10k-images-idx3-ubyte.gz"),
      gzip(content.subarray(0, 16 + 200 * 784)),
    );
  });
  assertStringIncludes(count.message, "wrong image count: the header (byte offset 4) says 256 images");
  assertStringIncludes(count.message, "(200 images)");
});

Deno.test("loadDataset() refuses an empty file", async () => {
  const e = await loadSpoiled("mnist", "test", async (dir) => {
    await Deno.writeFile(join(dir, "mnist", "t10k-labels-idx1-ubyte.gz"), new Uint8Array(0));
  });
  assertMatch(e.message, /t10k-labels-idx1-ubyte\.gz is empty \(0 bytes\)/);
});

Deno.test("loadDataset() refuses a well-formed file whose SHA-256 differs, showing expected and actual", async () => {
  const e = await loadSpoiled("binarized-mnist", "valid", async (dir) => {
    const content = await fixtureContent("binarized_mnist", "binarized_mnist_valid.amat");
    content[1568 * 3 + 10] ^= 1;
    await Deno.writeFile(join(dir, "binarized_mnist", "binarized_mnist_valid.amat.gz"), gzip(content));
  });
  assert(e instanceof ChecksumError, `${e.name}: ${e.message}`);
  assertEquals(e.expected, FIXTURE_FILES.binarizedValid.sha256);
  assertStringIncludes(e.message, `expected SHA-256 ${FIXTURE_FILES.binarizedValid.sha256}`);
  assertStringIncludes(e.message, `SHA-256 ${e.actual} (401,408 bytes, the expected size)`);
  assertStringIncludes(e.message, "was not used");
});

Deno.test("loadDataset() checks the real pins for files in a data dir (fixture files are refused there)", async () => {
  await withTempDir(async (dir) => {
    await copyFixtures(dir);
    const e = await assertRejects(() => loadDataset("mnist", "test", { dataDir: dir }), ChecksumError);
    assertEquals(e.expected, DATA_FILES.mnistTestImages.sha256);
    assertStringIncludes(e.message, "200,720 bytes, expected 7,840,016");
  });
});

Deno.test("loadDataset() refuses unknown names, splits, modes and bad sizes", async () => {
  const opts = { fixtures: true };
  // deno-lint-ignore no-explicit-any
  const any = (x: string) => x as any;
  await assertRejects(() => loadDataset(any("cifar"), "train", opts), RangeError, `Unknown dataset "cifar"`);
  await assertRejects(() => loadDataset("mnist", any("dev"), opts), RangeError, `Unknown split "dev"`);
  await assertRejects(
    () => loadDataset("mnist", "train", { ...opts, binarize: any("soft") }),
    RangeError,
    `"soft"`,
  );
  await assertRejects(
    () => loadDataset("mnist", "train", { ...opts, limit: 0 }),
    RangeError,
    "limit must be",
  );
  await assertRejects(
    () => loadDataset("mnist", "train", { ...opts, validSize: 256 }),
    RangeError,
    "less than",
  );
  await assertRejects(() => loadDataset("mnist", "valid", { ...opts, validSize: 0 }), RangeError, "empty");
});

Deno.test("datasetRecord() records the dataset, split sizes, every file hash and the binarization", async () => {
  const train = await loadDataset("mnist", "train", { fixtures: true, limit: 100 });
  const test = await loadDataset("mnist", "test", { fixtures: true });
  const r = datasetRecord([train, test]);
  assertEquals(r.name, "mnist");
  assertEquals(r.splits, { train: 100, valid: 0, test: 256 });
  assertEquals(Object.keys(r.sha256).sort(), [
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
  ]);
  assertEquals(r.binarize, "dynamic");
});
