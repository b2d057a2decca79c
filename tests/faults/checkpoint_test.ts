// A corrupted newest checkpoint (flipped byte, truncated, garbage metadata) is detected by its checksum or
// table, the previous one is used, the manifest's notes say so, and the records still equal an uninterrupted
// run's.
import { assertEquals, assertMatch } from "@std/assert";
import {
  assertExit,
  assertSameRecords,
  note,
  readExperiment,
  show,
  smoke,
  smokeBaseline,
  smokeRunIds,
  withProject,
} from "./harness.ts";

const DAMAGE: Array<{ what: string; damage: (ckptDir: string) => Promise<void>; notes: RegExp[] }> = [
  {
    what: "a flipped byte in the newest checkpoint's .bin",
    damage: async (d) => {
      const f = await Deno.open(`${d}/ckpt-000000008.bin`, { read: true, write: true });
      const b = new Uint8Array(1);
      await f.seek(1000, Deno.SeekMode.Start);
      await f.read(b);
      await f.seek(1000, Deno.SeekMode.Start);
      await f.write(new Uint8Array([b[0] ^ 0x10]));
      f.close();
    },
    notes: [
      /^ckpt-000000008 is corrupt \(sha256 mismatch: expected [0-9a-f]{16}…, got [0-9a-f]{16}…\); resumed from ckpt-000000004$/,
      /^resumed from ckpt-000000004$/,
    ],
  },
  {
    what: "the newest checkpoint's .bin truncated",
    damage: (d) => Deno.truncate(`${d}/ckpt-000000008.bin`, 4096),
    notes: [
      /^ckpt-000000008 is corrupt \(ckpt-000000008\.bin is 4096 bytes, expected \d+\); resumed from ckpt-000000004$/,
      /^resumed from ckpt-000000004$/,
    ],
  },
  {
    what: "the newest checkpoint's .json cut in half",
    damage: async (d) => {
      const text = await Deno.readTextFile(`${d}/ckpt-000000008.json`);
      await Deno.writeTextFile(`${d}/ckpt-000000008.json`, text.slice(0, text.length >> 1));
    },
    notes: [
      /^ckpt-000000008 is corrupt \(.*looks truncated\); resumed from ckpt-000000004$/,
      /^resumed from/,
    ],
  },
  {
    what: "both checkpoints damaged",
    damage: async (d) => {
      await Deno.truncate(`${d}/ckpt-000000008.bin`, 0);
      await Deno.writeTextFile(`${d}/ckpt-000000004.json`, "garbage");
    },
    notes: [
      /^ckpt-000000008 is corrupt .*; no valid checkpoint left, starting from step 0$/,
      /^ckpt-000000004 is corrupt .*; no valid checkpoint left, starting from step 0$/,
    ],
  },
];

for (const { what, damage, notes } of DAMAGE) {
  Deno.test(`a run resumed with ${what} falls back, says so in the manifest and ends identical`, () =>
    withProject(async (p) => {
      const killed = await smoke(p, [], { REDRAW_FAULT_KILL_AT: "step:10" });
      assertEquals(killed.signal, "SIGKILL", show(killed));
      const [first] = await smokeRunIds(p);
      await damage(`${p.runs}/smoke/${first}/checkpoints`);
      assertExit(await smoke(p), 0, "the run after the damage");
      const records = await readExperiment(p.runs);
      const got = records.get(first)!.manifest.notes;
      assertEquals(got.length, notes.length, got.join("\n"));
      got.forEach((n, i) => assertMatch(n, notes[i]));
      const c = assertSameRecords(records, await smokeBaseline(), await smokeRunIds(p));
      note(`${what}: "${got.join("; ")}"; ${c.lines} lines identical`);
    }));
}
