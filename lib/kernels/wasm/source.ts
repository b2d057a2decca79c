/**
 * The digest that ties lib/kernels/wasm/module.ts to the C sources it was built from, and base64 coding.
 * @module
 */

/** SHA-256 (hex) over the sorted `*.c` and `*.h` files of `dir`: each name, a NUL, its bytes, a NUL. */
export async function sourceDigest(dir: URL): Promise<string> {
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /\.(c|h)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const name of names) {
    parts.push(enc.encode(name + "\0"), await Deno.readFile(new URL(name, dir)), enc.encode("\0"));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Standard base64 of bytes. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Bytes of standard base64. */
export function decodeBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
