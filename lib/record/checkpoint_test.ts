import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  type CheckpointInput,
  checkpointName,
  checkTensorsMatch,
  listCheckpoints,
  loadLatestCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { RecordError } from "./io.ts";
import { splitSeed, streamStates } from "../random.ts";
import { withTempDir } from "./testutil.ts";

/** A checkpoint whose values depend on the step, including values JSON could not carry exactly. */
function sample(step: number): CheckpointInput {
  const streams = splitSeed(7);
  streams.epsilon.normal(step + 3);
  const w = new Float32Array(12).map((_, i) => (i - 5.5) / 3 + step);
  w[0] = NaN;
  w[1] = -0;
  w[2] = 1e-45; // a subnormal
  return {
    step,
    state: {
      epoch: Math.floor(step / 100),
      streams: streamStates(streams),
      optimizer: { iteration: step, beta1Power: 0.9 ** step, beta2Power: 0.999 ** step },
      trainer: { bestValid: 123.456789, bestStep: null },
    },
    tensors: [
      { name: "enc/kernel", shape: [3, 4], data: w },
      { name: "enc/bias", shape: [4], data: new Float32Array([1, 2, 3, step]) },
      { name: "empty", shape: [0, 5], data: new Float32Array(0) },
    ],
  };
}

function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

Deno.test("checkpointName() pads the step to 9 digits and refuses steps it cannot name", () => {
  assertEquals(checkpointName(600), "ckpt-000000600");
  assertThrows(() => checkpointName(1e9), RecordError, "from 0 to 999999999");
  assertThrows(() => checkpointName(1.5), RecordError);
});

Deno.test("saveCheckpoint() then loadLatestCheckpoint() round-trips state and tensors bit for bit", () =>
  withTempDir(async (dir) => {
    const input = sample(400);
    const file = await saveCheckpoint(dir, input);
    assertEquals(file.name, "ckpt-000000400");
    const { checkpoint, notes } = await loadLatestCheckpoint(dir);
    assert(checkpoint);
    assertEquals(notes, []);
    assertEquals(checkpoint.step, 400);
    assertEquals(checkpoint.state, input.state);
    assertEquals(
      checkpoint.tensors.map((t) => [t.name, t.shape]),
      input.tensors.map((t) => [t.name, t.shape]),
    );
    for (let i = 0; i < input.tensors.length; i++) {
      assertEquals(bitsOf(checkpoint.tensors[i].data), bitsOf(input.tensors[i].data));
    }
    const meta = JSON.parse(await Deno.readTextFile(file.jsonPath));
    assertEquals(meta.tensors[1], { name: "enc/bias", shape: [4], dtype: "float32", offset: 48, length: 16 });
    assertMatch(meta.sha256, /^[0-9a-f]{64}$/);
    assertEquals((await Deno.stat(file.binPath)).size, 64);
  }));

Deno.test("saveCheckpoint() keeps only the newest checkpoints and removes leftovers of crashed saves", () =>
  withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/checkpoints`);
    await Deno.writeTextFile(`${dir}/checkpoints/.ckpt-000000050.bin.tmp-1-1-abcd`, "partial");
    await Deno.writeTextFile(`${dir}/checkpoints/ckpt-000000050.bin`, "uncommitted");
    for (const step of [100, 200, 300, 400]) await saveCheckpoint(dir, sample(step), 2);
    assertEquals((await listCheckpoints(dir)).map((c) => c.step), [300, 400]);
    const names = [...Deno.readDirSync(`${dir}/checkpoints`)].map((e) => e.name).sort();
    assertEquals(names, [
      "ckpt-000000300.bin",
      "ckpt-000000300.json",
      "ckpt-000000400.bin",
      "ckpt-000000400.json",
    ]);
  }));

Deno.test("listCheckpoints() ignores a .bin whose .json was never written (an unfinished save)", () =>
  withTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(100));
    await Deno.writeFile(`${dir}/checkpoints/ckpt-000000200.bin`, new Uint8Array(64));
    assertEquals((await listCheckpoints(dir)).map((c) => c.step), [100]);
    const { checkpoint, notes } = await loadLatestCheckpoint(dir);
    assertEquals(checkpoint?.step, 100);
    assertEquals(notes, []);
  }));

Deno.test("loadLatestCheckpoint() on a run without checkpoints returns null and no notes", () =>
  withTempDir(async (dir) => {
    assertEquals(await loadLatestCheckpoint(dir), { checkpoint: null, notes: [] });
  }));

async function corruptNewest(how: (bin: string, json: string) => Promise<void>, dir: string) {
  await saveCheckpoint(dir, sample(400));
  await saveCheckpoint(dir, sample(600));
  await how(`${dir}/checkpoints/ckpt-000000600.bin`, `${dir}/checkpoints/ckpt-000000600.json`);
  return await loadLatestCheckpoint(dir);
}

Deno.test("a flipped byte in the newest .bin is caught by the checksum and the previous checkpoint is used", () =>
  withTempDir(async (dir) => {
    const { checkpoint, notes } = await corruptNewest(async (bin) => {
      const b = await Deno.readFile(bin);
      b[37] ^= 0x01;
      await Deno.writeFile(bin, b);
    }, dir);
    assertEquals(checkpoint?.step, 400);
    assertEquals(notes.length, 1);
    assertMatch(
      notes[0],
      /^ckpt-000000600 is corrupt \(sha256 mismatch: expected [0-9a-f]{16}…, got [0-9a-f]{16}…\); resumed from ckpt-000000400$/,
    );
  }));

Deno.test("a truncated newest .bin falls back to the previous checkpoint and says how short it is", () =>
  withTempDir(async (dir) => {
    const { checkpoint, notes } = await corruptNewest(async (bin) => {
      await Deno.truncate(bin, 40);
    }, dir);
    assertEquals(checkpoint?.step, 400);
    assertEquals(notes, [
      "ckpt-000000600 is corrupt (ckpt-000000600.bin is 40 bytes, expected 64); resumed from ckpt-000000400",
    ]);
  }));

Deno.test("a missing newest .bin falls back to the previous checkpoint", () =>
  withTempDir(async (dir) => {
    const { checkpoint, notes } = await corruptNewest((bin) => Deno.remove(bin), dir);
    assertEquals(checkpoint?.step, 400);
    assertEquals(notes, [
      "ckpt-000000600 is corrupt (ckpt-000000600.bin is missing); resumed from ckpt-000000400",
    ]);
  }));

Deno.test("a garbage or truncated newest .json falls back to the previous checkpoint", () =>
  withTempDir(async (dir) => {
    let r = await corruptNewest((_, json) => Deno.writeTextFile(json, "\u0000\u0000garbage"), dir);
    assertEquals(r.checkpoint?.step, 400);
    assertStringIncludes(r.notes[0], "ckpt-000000600 is corrupt (");
    assertStringIncludes(r.notes[0], "is not valid JSON");
    r = await corruptNewest(async (_, json) => {
      const text = await Deno.readTextFile(json);
      await Deno.writeTextFile(json, text.slice(0, text.length / 2));
    }, dir);
    assertEquals(r.checkpoint?.step, 400);
    assertStringIncludes(r.notes[0], "looks truncated");
  }));

Deno.test("a newest .json with a tampered tensor table or foreign content is refused", () =>
  withTempDir(async (dir) => {
    let r = await corruptNewest(async (_, json) => {
      const m = JSON.parse(await Deno.readTextFile(json));
      m.tensors[0].shape = [4, 4];
      await Deno.writeTextFile(json, JSON.stringify(m));
    }, dir);
    assertEquals(r.checkpoint?.step, 400);
    assertStringIncludes(r.notes[0], 'tensor 0 ("enc/kernel") is 48 bytes, its shape needs 64');
    r = await corruptNewest((_, json) => Deno.writeTextFile(json, '{"hello": "world"}'), dir);
    assertStringIncludes(r.notes[0], "is not a redraw checkpoint");
    r = await corruptNewest(async (_, json) => {
      const m = JSON.parse(await Deno.readTextFile(json));
      m.formatVersion = 99;
      await Deno.writeTextFile(json, JSON.stringify(m));
    }, dir);
    assertStringIncludes(r.notes[0], "format version 99, newer than this redraw understands (1)");
  }));

Deno.test("when every checkpoint is corrupt, loadLatestCheckpoint() returns null with a note for each", () =>
  withTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(200));
    await saveCheckpoint(dir, sample(400));
    await Deno.truncate(`${dir}/checkpoints/ckpt-000000200.bin`, 0);
    await Deno.remove(`${dir}/checkpoints/ckpt-000000400.bin`);
    const { checkpoint, notes } = await loadLatestCheckpoint(dir);
    assertEquals(checkpoint, null);
    assertEquals(notes.length, 2);
    assertStringIncludes(notes[0], "ckpt-000000400 is corrupt");
    assertStringIncludes(notes[1], "ckpt-000000200 is corrupt");
    assertStringIncludes(notes[1], "no valid checkpoint left, starting from step 0");
  }));

Deno.test("saving the same step again replaces the checkpoint consistently", () =>
  withTempDir(async (dir) => {
    const first = sample(300);
    await saveCheckpoint(dir, first);
    const again = sample(300);
    again.tensors[1].data[0] = 42;
    await saveCheckpoint(dir, again);
    const { checkpoint, notes } = await loadLatestCheckpoint(dir);
    assertEquals(notes, []);
    assertEquals(checkpoint?.tensors[1].data[0], 42);
  }));

Deno.test("saveCheckpoint() refuses mismatched shapes, duplicate names and non-finite state", () =>
  withTempDir(async (dir) => {
    const bad = sample(1);
    bad.tensors[0].shape = [5, 5];
    await assertRejects(() => saveCheckpoint(dir, bad), RecordError, "(25 values) but 12 values");
    const dup = sample(1);
    dup.tensors[1].name = "enc/kernel";
    await assertRejects(() => saveCheckpoint(dir, dup), RecordError, 'tensor "enc/kernel" appears twice');
    const nan = sample(1);
    nan.state.optimizer = { beta1Power: NaN };
    await assertRejects(() => saveCheckpoint(dir, nan), RecordError, 'field "beta1Power" is NaN');
    assertEquals(await listCheckpoints(dir), []);
  }));

Deno.test("a separate checkpoint folder (e.g. the best model) does not mix with the periodic ones", () =>
  withTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(100));
    await saveCheckpoint(dir, sample(50), 1, { folder: "checkpoints/best" });
    assertEquals((await listCheckpoints(dir)).map((c) => c.step), [100]);
    assertEquals((await loadLatestCheckpoint(dir, { folder: "checkpoints/best" })).checkpoint?.step, 50);
  }));

Deno.test("checkTensorsMatch() names a missing, reshaped or unexpected tensor", () =>
  withTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(10));
    const { checkpoint } = await loadLatestCheckpoint(dir);
    assert(checkpoint);
    const expected = [{ name: "enc/kernel", shape: [3, 4] }, { name: "enc/bias", shape: [4] }, {
      name: "empty",
      shape: [0, 5],
    }];
    checkTensorsMatch(checkpoint, expected);
    assertThrows(
      () => checkTensorsMatch(checkpoint, [...expected, { name: "dec", shape: [1] }]),
      RecordError,
      '"dec"',
    );
    assertThrows(
      () => checkTensorsMatch(checkpoint, [{ name: "enc/kernel", shape: [4, 3] }, ...expected.slice(1)]),
      RecordError,
      "has shape [3,4], expected [4,3]",
    );
    assertThrows(
      () => checkTensorsMatch(checkpoint, expected.slice(1)),
      RecordError,
      "unexpected tensors: enc/kernel",
    );
  }));

Deno.test("a checkpoint of 2 million floats round-trips", () =>
  withTempDir(async (dir) => {
    const n = 2_000_000;
    const data = new Float32Array(n);
    const s = splitSeed(3).init;
    data.set(s.normal(n));
    await saveCheckpoint(dir, { step: 1, state: {}, tensors: [{ name: "w", shape: [n], data }] });
    const { checkpoint } = await loadLatestCheckpoint(dir);
    assertEquals(checkpoint?.tensors[0].data, data);
  }));
