import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { RandomStream } from "../random.ts";
import { streamContent } from "./read.ts";
import { fixtureContent, gzip, withTempDir } from "./test_util.ts";

const content = await fixtureContent("binarized_mnist", "binarized_mnist_test.amat");
const sha = createHash("sha256").update(content).digest("hex");

function noise(n: number): Uint8Array {
  const stream = new RandomStream("noise", 9);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = stream.nextUint32() & 0xff;
  return out;
}

async function collect(path: string): Promise<{ bytes: Uint8Array; sha256: string; gzip: boolean }> {
  const parts: Uint8Array[] = [];
  const info = await streamContent(path, (c) => parts.push(c.slice()));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) bytes.set(p, (at += p.length) - p.length);
  return { bytes, sha256: info.sha256, gzip: info.gzip };
}

Deno.test("streamContent() gives the same content and hash for a raw file and its gzip", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.amat"), content);
    await Deno.writeFile(join(dir, "a.amat.gz"), gzip(content));
    const raw = await collect(join(dir, "a.amat"));
    const gz = await collect(join(dir, "a.amat.gz"));
    assertEquals([raw.sha256, raw.gzip, gz.sha256, gz.gzip], [sha, false, sha, true]);
    assertEquals(gz.bytes, content);
  });
});

Deno.test("streamContent() refuses a truncated gzip file, naming it and the bytes decompressed", async () => {
  await withTempDir(async (dir) => {
    const gz = gzip(content);
    const path = join(dir, "cut.amat.gz");
    await Deno.writeFile(path, gz.subarray(0, gz.length - 100));
    const e = await assertRejects(() => streamContent(path, () => {}), DataError);
    assertStringIncludes(e.message, `${path}: cannot decompress: unexpected end of file`);
    assertStringIncludes(e.message, "truncated or corrupt");
    const big = gzip(noise(3 << 20));
    await Deno.writeFile(path, big.subarray(0, big.length - 1000));
    await assertRejects(() => streamContent(path, () => {}), DataError, "unexpected end of file");
  });
});

Deno.test("streamContent() refuses gzip data whose checksum fails (corrupt body)", async () => {
  await withTempDir(async (dir) => {
    const gz = gzip(content);
    gz[gz.length - 6] ^= 0xff;
    const path = join(dir, "bad.gz");
    await Deno.writeFile(path, gz);
    await assertRejects(() => streamContent(path, () => {}), DataError, "cannot decompress");
  });
});

Deno.test("streamContent() refuses a .gz name without gzip data, an empty file, and a directory", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "plain.gz"), content);
    await assertRejects(
      () => streamContent(join(dir, "plain.gz"), () => {}),
      DataError,
      "is named .gz but does not hold gzip data (byte offset 0: expected 1f 8b, found 30 20 30 20)",
    );
    await Deno.writeFile(join(dir, "empty.amat"), new Uint8Array(0));
    await assertRejects(
      () => streamContent(join(dir, "empty.amat"), () => {}),
      DataError,
      "is empty (0 bytes)",
    );
    await Deno.mkdir(join(dir, "folder.amat"));
    await assertRejects(() => streamContent(join(dir, "folder.amat"), () => {}), DataError, "is a directory");
  });
});

Deno.test("streamContent() passes a parse error from its consumer through and closes the file", async () => {
  await withTempDir(async (dir) => {
    // Incompressible data larger than one read, so the error lands while the gzip pipeline is mid-stream.
    const big = noise(3 << 20);
    const path = join(dir, "big.gz");
    await Deno.writeFile(path, gzip(big));
    let calls = 0;
    await assertRejects(
      () =>
        streamContent(path, () => {
          if (++calls === 2) throw new DataError("stop here", path, 3);
        }),
      DataError,
      "stop here",
    );
    assertEquals(calls, 2);
  });
});
