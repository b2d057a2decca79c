import { assertEquals } from "@std/assert";
import { EXPORTS, SOURCE_SHA256, WASM_BASE64 } from "./module.ts";
import { decodeBase64, encodeBase64, sourceDigest } from "./source.ts";
import { moduleBytes } from "./engine.ts";

Deno.test("module.ts was built from the committed C sources (rebuild: deno task build-wasm)", async () => {
  assertEquals(SOURCE_SHA256, await sourceDigest(new URL("./src/", import.meta.url)));
});

Deno.test("the kernel module imports only a memory and has no data or start section", async () => {
  const bytes = decodeBase64(WASM_BASE64);
  const m = await WebAssembly.compile(bytes as BufferSource);
  assertEquals(WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}:${i.kind}`), [
    "env.memory:memory",
  ]);
  assertEquals(WebAssembly.Module.exports(m).map((e) => e.name).sort(), [...EXPORTS].sort());
  let i = 8;
  const ids: number[] = [];
  while (i < bytes.length) {
    ids.push(bytes[i++]);
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[i++];
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    i += size;
  }
  assertEquals(ids.includes(11) || ids.includes(8), false, `sections ${ids.join(",")}`);
});

Deno.test("moduleBytes(true) marks the memory import shared, so it links to tfjs-wasm's threaded heap", async () => {
  const shared = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const plain = new WebAssembly.Memory({ initial: 1, maximum: 32768 });
  await WebAssembly.instantiate(moduleBytes(true) as BufferSource, { env: { memory: shared } });
  await WebAssembly.instantiate(moduleBytes(false) as BufferSource, { env: { memory: plain } });
  let refused = false;
  await WebAssembly.instantiate(moduleBytes(false) as BufferSource, { env: { memory: shared } }).catch(() => {
    refused = true;
  });
  assertEquals(refused, true);
});

Deno.test("base64 coding round-trips every byte value", () => {
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 255);
  assertEquals(decodeBase64(encodeBase64(bytes)), bytes);
});
