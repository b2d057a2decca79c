import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { downloadFile, ensureFiles, type FetchImpl } from "./download.ts";
import { ChecksumError, DataError, MissingDataError } from "./errors.ts";
import { loadDataset } from "./load.ts";
import { FIXTURE_FILES, type RemoteSpec } from "./sources.ts";
import { fixturesDir } from "./datadir.ts";
import { listAll, withTempDir } from "./test_util.ts";

const served = await Deno.readFile(join(fixturesDir(), "mnist", "t10k-images-idx3-ubyte.gz"));
const remote: RemoteSpec = {
  fileName: "t10k-images-idx3-ubyte.gz",
  url: "https://example.invalid/mnist/t10k-images-idx3-ubyte.gz",
  sha256: createHash("sha256").update(served).digest("hex"),
  bytes: served.length,
};

/** A response streaming `bytes` in chunks, optionally failing after `failAfter` chunks. */
function streamed(
  bytes: Uint8Array,
  opts: { chunk?: number; failAfter?: number; status?: number } = {},
): Response {
  const size = opts.chunk ?? 4096;
  let at = 0, sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (opts.failAfter !== undefined && sent === opts.failAfter) {
        c.error(new Error("connection reset by peer"));
        return;
      }
      if (at >= bytes.length) {
        c.close();
        return;
      }
      c.enqueue(bytes.slice(at, at + size));
      at += size;
      sent++;
    },
  });
  return new Response(body, { status: opts.status ?? 200 });
}

function serve(make: () => Response, calls: string[] = []): FetchImpl {
  return (url: string) => {
    calls.push(url);
    return Promise.resolve(make());
  };
}

Deno.test("downloadFile() streams a verified download into place and leaves no temporary file", async () => {
  await withTempDir(async (dir) => {
    const progress: number[] = [];
    const path = await downloadFile(remote, join(dir, "mnist"), {
      fetchImpl: serve(() => streamed(served)),
      onProgress: (p) => progress.push(p.received),
    });
    assertEquals(path, join(dir, "mnist", "t10k-images-idx3-ubyte.gz"));
    assertEquals(await Deno.readFile(path), served);
    assertEquals(await listAll(dir), ["mnist/", "mnist/t10k-images-idx3-ubyte.gz"]);
    assertEquals(progress.at(-1), served.length);
    assert(progress.length > 1, "progress is reported per chunk");
  });
});

Deno.test("downloadFile() discards a download whose SHA-256 differs and shows expected and actual", async () => {
  await withTempDir(async (dir) => {
    const wrong = served.slice();
    wrong[1000] ^= 1;
    const actual = createHash("sha256").update(wrong).digest("hex");
    const e = await assertRejects(
      () => downloadFile(remote, dir, { fetchImpl: serve(() => streamed(wrong)) }),
      ChecksumError,
    );
    assertEquals([e.expected, e.actual], [remote.sha256, actual]);
    assertStringIncludes(e.message, `SHA-256 ${actual}`);
    assertStringIncludes(e.message, `expected ${remote.sha256}`);
    assertStringIncludes(e.message, "nothing was written");
    assertEquals(await listAll(dir), []);
  });
});

Deno.test("downloadFile() leaves nothing behind when the connection fails mid-stream", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => downloadFile(remote, dir, { fetchImpl: serve(() => streamed(served, { failAfter: 3 })) }),
      DataError,
      "connection reset by peer",
    );
    assertEquals(await listAll(dir), []);
  });
});

Deno.test("downloadFile() refuses an HTTP error, a failed request and an oversized body, keeping nothing", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => downloadFile(remote, dir, { fetchImpl: serve(() => streamed(served, { status: 404 })) }),
      DataError,
      `Cannot download ${remote.url}: the server answered HTTP 404`,
    );
    const offline: FetchImpl = () => Promise.reject(new TypeError("dns error: no such host"));
    await assertRejects(() => downloadFile(remote, dir, { fetchImpl: offline }), DataError, "no such host");
    const bigger = new Uint8Array(served.length + 10);
    bigger.set(served);
    await assertRejects(
      () => downloadFile(remote, dir, { fetchImpl: serve(() => streamed(bigger)) }),
      DataError,
      "sent more than the expected",
    );
    assertEquals(await listAll(dir), []);
  });
});

Deno.test("ensureFiles() downloads only the missing files, into the dataset's subfolder", async () => {
  await withTempDir(async (dir) => {
    const labels = FIXTURE_FILES.mnistTestLabels;
    await Deno.mkdir(join(dir, "mnist"));
    await Deno.copyFile(
      join(fixturesDir(), "mnist", `${labels.name}.gz`),
      join(dir, "mnist", `${labels.name}.gz`),
    );
    const calls: string[] = [];
    const images = { ...FIXTURE_FILES.mnistTestImages, remote };
    const paths = await ensureFiles(dir, [images, labels], {
      download: true,
      fetchImpl: serve(() => streamed(served), calls),
    });
    assertEquals(calls, [remote.url]);
    assertEquals(paths[images.name], join(dir, "mnist", remote.fileName));
    const ds = await loadDataset("mnist", "test", { fixtures: true, dataDir: dir });
    assertEquals(ds.n, 256);
  });
});

Deno.test("loadDataset() never touches the network unless download is set", async () => {
  await withTempDir(async (dir) => {
    const calls: string[] = [];
    await assertRejects(
      () =>
        loadDataset("binarized-mnist", "valid", {
          dataDir: dir,
          shippedDir: null,
          fetchImpl: serve(() => streamed(served), calls),
        }),
      MissingDataError,
    );
    assertEquals(calls, []);
  });
});

Deno.test("loadDataset() with download set fetches the canonical URL and keeps nothing when it fails", async () => {
  await withTempDir(async (dir) => {
    const calls: string[] = [];
    await assertRejects(
      () =>
        loadDataset("binarized-mnist", "test", {
          dataDir: dir,
          shippedDir: null,
          download: true,
          fetchImpl: serve(() => streamed(served), calls),
        }),
      ChecksumError,
      "expected e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
    );
    assertEquals(calls, [
      "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/binarized_mnist_test.amat",
    ]);
    const failing = serve(() => streamed(served, { failAfter: 2 }), calls);
    await assertRejects(() =>
      loadDataset("mnist", "test", { dataDir: dir, download: true, fetchImpl: failing })
    );
    assertEquals(
      calls.at(-1),
      "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz",
    );
    assertEquals(await listAll(dir), []);
  });
});
