/**
 * A contender for lock_test.ts: waits for `<sync>/go`, tries to take the lock of `<dir>`, writes "won" or
 * "lost" to `<sync>/result-<id>`, and (when it won) holds the lock until `<sync>/release` appears.
 *
 * Usage: deno run --allow-read --allow-write --allow-sys=hostname lock_child.ts <dir> <sync> <id>
 * @module
 */
import { tryAcquireLock } from "../lock.ts";

const [dir, sync, id] = Deno.args;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await Deno.writeTextFile(`${sync}/ready-${id}`, String(Deno.pid));
while (!(await exists(`${sync}/go`))) await sleep(2);
const lock = await tryAcquireLock(dir, { owner: `child ${id}`, refreshSeconds: 0.2, staleAfterSeconds: 30 });
await Deno.writeTextFile(`${sync}/result-${id}`, lock ? "won" : "lost");
if (lock) {
  while (!(await exists(`${sync}/release`))) await sleep(5);
  await lock.release();
}
