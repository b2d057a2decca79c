import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { shippedDir } from "./datadir.ts";
import { ChecksumError, MissingDataError } from "./errors.ts";
import { loadDataset } from "./load.ts";
import { hashFile } from "./read.ts";
import { datasetRecord } from "./record.ts";
import { DATA_FILES } from "./sources.ts";
import { withTempDir } from "./test_util.ts";

const TEST = DATA_FILES.binarizedTest;
const SHIPPED_TEST = join(shippedDir(), "binarized_mnist", TEST.shipped.fileName);

/** Runs `fn` with REDRAW_DATA_DIR set to `value` (or unset for undefined), restoring it afterwards. */
async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("REDRAW_DATA_DIR");
  value === undefined ? Deno.env.delete("REDRAW_DATA_DIR") : Deno.env.set("REDRAW_DATA_DIR", value);
  try {
    return await fn();
  } finally {
    saved === undefined ? Deno.env.delete("REDRAW_DATA_DIR") : Deno.env.set("REDRAW_DATA_DIR", saved);
  }
}

Deno.test("the shipped binarized MNIST files are the ones pinned in sources.ts and listed in SHA256SUMS", async () => {
  const sums = await Deno.readTextFile(join(shippedDir(), "binarized_mnist", "SHA256SUMS"));
  const listed = Object.fromEntries(sums.trim().split("\n").map((l) => l.split(/\s+/).reverse()));
  for (const spec of [DATA_FILES.binarizedTrain, DATA_FILES.binarizedValid, DATA_FILES.binarizedTest]) {
    const got = await hashFile(join(shippedDir(), "binarized_mnist", spec.shipped.fileName));
    assertEquals(got, { sha256: spec.shipped.sha256, bytes: spec.shipped.bytes }, spec.shipped.fileName);
    assertEquals(listed[spec.shipped.fileName], spec.shipped.sha256);
  }
});

Deno.test("loadDataset() with an empty data dir reads the shipped test split and records that copy", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset("binarized-mnist", "test", { dataDir: dir });
    assertEquals([ds.n, ds.sha256], [10_000, TEST.sha256]);
    let ones = 0;
    for (let i = 0; i < ds.images.length; i++) ones += ds.images[i];
    // The published mean pixel of the test split (docs/data.md), from exact integer counts.
    assertEquals((ones / ds.images.length).toFixed(6), "0.132512");
    assertEquals(ds.copies[TEST.name], {
      source: "shipped",
      path: "data/binarized_mnist/binarized_mnist_test.amat.gz",
      sha256: TEST.shipped.sha256,
    });
    assertEquals(datasetRecord([ds]).copies, ds.copies);
  });
});

Deno.test("a copy in the data dir or REDRAW_DATA_DIR wins over the shipped copy, and says which it was", async () => {
  await withTempDir(async (dir) => {
    const raw = join(dir, "binarized_mnist", TEST.name);
    await Deno.mkdir(join(dir, "binarized_mnist"));
    await Deno.writeFile(raw, gunzipSync(await Deno.readFile(SHIPPED_TEST)));
    const own = await loadDataset("binarized-mnist", "test", { dataDir: dir, limit: 3 });
    // A raw .amat is hashed as stored, so its file hash is the published content hash.
    assertEquals(own.copies[TEST.name], { source: "data-dir", path: raw, sha256: TEST.sha256 });
    const fromEnv = await withEnv(dir, () => loadDataset("binarized-mnist", "test", { limit: 3 }));
    assertEquals(fromEnv.copies[TEST.name].source, "env");
    assertEquals(fromEnv.images, own.images);
  });
});

Deno.test("a damaged shipped file is refused with both hashes before it is decompressed", async () => {
  await withTempDir(async (dir) => {
    const shipped = join(dir, "shipped");
    await Deno.mkdir(join(shipped, "binarized_mnist"), { recursive: true });
    const bytes = await Deno.readFile(SHIPPED_TEST);
    bytes[200_000] ^= 0x40; // inside the deflate stream: gunzip alone would fail without naming hashes
    await Deno.writeFile(join(shipped, "binarized_mnist", TEST.shipped.fileName), bytes);
    const e = await assertRejects(
      () => loadDataset("binarized-mnist", "test", { dataDir: join(dir, "empty"), shippedDir: shipped }),
      ChecksumError,
    );
    assertEquals(e.expected, TEST.shipped.sha256);
    assert(/^[0-9a-f]{64}$/.test(e.actual) && e.actual !== e.expected, e.actual);
    assertStringIncludes(e.message, `its SHA-256 is ${e.actual} (416,802 bytes, the expected size)`);
    assertStringIncludes(e.message, `expected SHA-256 ${TEST.shipped.sha256}`);
    assertStringIncludes(e.message, "was not used");
  });
});

Deno.test("grey-level MNIST has no shipped copy: an empty data dir is still a missing-data error", async () => {
  await withTempDir(async (dir) => {
    const e = await assertRejects(() => loadDataset("mnist", "test", { dataDir: dir }), MissingDataError);
    assertEquals(e.missing.map((m) => m.name), ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]);
  });
});
