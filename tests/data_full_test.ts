/**
 * Checks on the full data: the binarized MNIST shipped in data/ (always), and grey-level MNIST in the
 * user's data folder `REDRAW_DATA_DIR` (with its `mnist/` and `binarized_mnist/` subfolders; skipped when it
 * is not set or lacks them). The unit tests in lib/data cover the same code on the committed fixtures.
 */
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DATA_FILES, type FetchImpl, loadDataset, shippedDir } from "../lib/data/mod.ts";

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

const DATA_DIR = Deno.env.get("REDRAW_DATA_DIR") ?? "";
const ignore = DATA_DIR === "" || !isDirectory(join(DATA_DIR, "binarized_mnist")) ||
  !isDirectory(join(DATA_DIR, "mnist"));

/** Mean grey level on the 0-255 scale, summing the exact integer levels (float32 x / 255 is inexact). */
function greyMean(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.round(x[i] * 255);
  return s / x.length;
}

function mean(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

Deno.test("the shipped binarized MNIST has 50,000 / 10,000 / 10,000 rows with the published mean pixels", async () => {
  const expected = { train: [50_000, 0.130562], valid: [10_000, 0.131127], test: [10_000, 0.132512] };
  // An empty data dir, so that the shipped copy is read whatever the user's cache holds.
  const empty = await Deno.makeTempDir({ prefix: "redraw-data-full-" });
  try {
    for (const split of ["train", "valid", "test"] as const) {
      const ds = await loadDataset("binarized-mnist", split, { dataDir: empty });
      const [n, m] = expected[split];
      assertEquals(ds.n, n);
      assertEquals(ds.images.length, n * 784);
      assertAlmostEquals(mean(ds.images), m, 5e-7, `${split} mean pixel`);
      assertEquals(
        ds.paths[`binarized_mnist_${split}.amat`],
        join(shippedDir(), "binarized_mnist", `binarized_mnist_${split}.amat.gz`),
      );
      assertEquals(ds.copies[`binarized_mnist_${split}.amat`].source, "shipped");
    }
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test({
  name: "MNIST IDX train from REDRAW_DATA_DIR has mean pixel 33.318421 and the published label counts",
  ignore,
  async fn() {
    const all = await loadDataset("mnist", "train", { dataDir: DATA_DIR, binarize: "none", validSize: 0 });
    assertEquals(all.n, 60_000);
    assertAlmostEquals(greyMean(all.images), 33.318421, 5e-7);
    const counts = new Array(10).fill(0);
    for (const l of all.labels!) counts[l]++;
    assertEquals(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    const train = await loadDataset("mnist", "train", { dataDir: DATA_DIR, binarize: "none" });
    const valid = await loadDataset("mnist", "valid", { dataDir: DATA_DIR, binarize: "none" });
    assertEquals([train.n, valid.n, valid.offset], [50_000, 10_000, 50_000]);
    assertEquals(valid.labels, all.labels!.subarray(50_000));
  },
});

Deno.test({
  name: "MNIST IDX test from REDRAW_DATA_DIR has mean pixel 33.791224 and the published label counts",
  ignore,
  async fn() {
    const test = await loadDataset("mnist", "test", { dataDir: DATA_DIR, binarize: "none" });
    assertEquals(test.n, 10_000);
    assertAlmostEquals(greyMean(test.images), 33.791224, 5e-7);
    const counts = new Array(10).fill(0);
    for (const l of test.labels!) counts[l]++;
    assertEquals(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  },
});

Deno.test({
  name: "a download served from REDRAW_DATA_DIR verifies against the real pins and loads",
  ignore,
  async fn() {
    // Serve the published files as the canonical URLs would: MNIST as .gz, binarized MNIST as raw .amat.
    const byUrl = new Map<string, string>([
      [DATA_FILES.mnistTestImages.remote.url, join(DATA_DIR, "mnist", "t10k-images-idx3-ubyte.gz")],
      [DATA_FILES.mnistTestLabels.remote.url, join(DATA_DIR, "mnist", "t10k-labels-idx1-ubyte.gz")],
      [
        DATA_FILES.binarizedValid.remote.url,
        join(DATA_DIR, "binarized_mnist", "binarized_mnist_valid.amat.gz"),
      ],
    ]);
    const fetchImpl: FetchImpl = async (url) => {
      const path = byUrl.get(url);
      if (!path) return new Response("not found", { status: 404 });
      const bytes = await Deno.readFile(path);
      return new Response(url.endsWith(".amat") ? new Uint8Array(gunzipSync(bytes)) : bytes);
    };
    const cache = await Deno.makeTempDir({ prefix: "redraw-data-full-" });
    try {
      const test = await loadDataset("mnist", "test", { dataDir: cache, download: true, fetchImpl });
      assertEquals(test.sha256, DATA_FILES.mnistTestImages.sha256);
      // Without the shipped copy: with it, the binarized split is found in data/ and nothing is downloaded.
      const valid = await loadDataset("binarized-mnist", "valid", {
        dataDir: cache,
        download: true,
        fetchImpl,
        shippedDir: null,
      });
      assertEquals(valid.n, 10_000);
      assertEquals(
        valid.paths["binarized_mnist_valid.amat"],
        join(cache, "binarized_mnist", "binarized_mnist_valid.amat"),
      );
      const names = [...Deno.readDirSync(join(cache, "mnist"))].map((e) => e.name).sort();
      assertEquals(names, ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]);
      assert(Deno.statSync(join(cache, "binarized_mnist", "binarized_mnist_valid.amat")).size === 15_680_000);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});
