import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { RandomStream, splitSeed } from "../random.ts";
import { Batcher, type BatchSource, evalBatches } from "./batches.ts";
import { loadDataset } from "./load.ts";

/** A source of `n` images whose pixel 0 holds the image's index, for tracing rows through batches. */
function traced(n: number, binarize: BatchSource["binarize"] = "none"): BatchSource {
  const images = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) images[i * 784] = i;
  return { images, n, binarize, labels: Uint8Array.from({ length: n }, (_, i) => i % 10) };
}

function firstPixels(images: Float32Array, n: number): number[] {
  return Array.from({ length: n }, (_, r) => images[r * 784]);
}

Deno.test("Batcher serves each image exactly once per epoch, in a permutation that changes each epoch", () => {
  const src = traced(10);
  const b = new Batcher(src, { batchSize: 3, dropLast: false, order: splitSeed(1).dataOrder });
  assertEquals(b.batchesPerEpoch, 4);
  const epochs: number[][] = [[], []];
  for (let k = 0; k < 8; k++) {
    const batch = b.next();
    assertEquals(batch.n, k % 4 === 3 ? 1 : 3);
    assertEquals(batch.lastInEpoch, k % 4 === 3);
    assertEquals([batch.epoch, batch.batchInEpoch], [Math.floor(k / 4), k % 4]);
    assertEquals(firstPixels(batch.images, batch.n), Array.from(batch.indices));
    assertEquals(Array.from(batch.labels!), Array.from(batch.indices, (i) => i % 10));
    epochs[batch.epoch].push(...batch.indices);
  }
  for (const e of epochs) assertEquals([...e].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertNotEquals(epochs[0], epochs[1]);
  assertEquals([b.epoch, b.imagesSeen, b.batchesSeen], [2, 20, 8]);
});

Deno.test("Batcher with dropLast drops the last partial batch and counts only images served", () => {
  const b = new Batcher(traced(10), { batchSize: 3, order: splitSeed(1).dataOrder });
  assertEquals(b.batchesPerEpoch, 3);
  const sizes = Array.from({ length: 6 }, () => b.next()).map((x) => [x.n, x.epoch, x.lastInEpoch]);
  assertEquals(sizes, [[3, 0, false], [3, 0, false], [3, 0, true], [3, 1, false], [3, 1, false], [
    3,
    1,
    true,
  ]]);
  assertEquals([b.epoch, b.imagesSeen], [2, 18]);
  assertThrows(
    () => new Batcher(traced(10), { batchSize: 11, order: splitSeed(1).dataOrder }),
    RangeError,
    "exceeds",
  );
});

Deno.test("Batcher batches are the same for the same seed and differ for another seed", () => {
  const run = (seed: number) => {
    const b = new Batcher(traced(50), { batchSize: 8, order: splitSeed(seed).dataOrder });
    return Array.from({ length: 12 }, () => Array.from(b.next().indices));
  };
  assertEquals(run(5), run(5));
  assertNotEquals(run(5), run(6));
});

Deno.test("Batcher draws a fresh, deterministic Bernoulli sample of each image for dynamic binarization", async () => {
  const ds = await loadDataset("mnist", "train", { fixtures: true, binarize: "dynamic" });
  const make = (seed: number) => {
    const s = splitSeed(seed);
    return new Batcher(ds, { batchSize: ds.n, order: s.dataOrder, binarize: s.binarize });
  };
  const a = make(3), b = make(3);
  const e0 = a.next(), e1 = a.next();
  assertEquals(e0.images, b.next().images);
  assert(e0.images.every((v) => v === 0 || v === 1), "samples are binary");
  // Across epochs, the same image gets a new sample; its mean matches the grey level.
  const rowOf = (batch: typeof e0, image: number) => {
    const r = batch.indices.indexOf(image);
    return batch.images.subarray(r * 784, (r + 1) * 784);
  };
  assertNotEquals(rowOf(e0, 0), rowOf(e1, 0));
  let sampled = 0, grey = 0;
  for (let i = 0; i < ds.images.length; i++) grey += ds.images[i];
  for (let i = 0; i < e0.images.length; i++) sampled += e0.images[i];
  assert(
    Math.abs(sampled - grey) < 4 * Math.sqrt(grey),
    `sampled ${sampled} ones for a grey total of ${grey}`,
  );
  // Pixels that are 0 or 1 in grey stay so.
  const g = ds.images.subarray(0, 784), s = rowOf(e0, 0);
  for (let k = 0; k < 784; k++) if (g[k] === 0 || g[k] === 1) assertEquals(s[k], g[k]);
  assertNotEquals(make(4).next().images, e0.images);
  assertThrows(() => new Batcher(ds, { batchSize: 4, order: splitSeed(1).dataOrder }), Error, `"binarize"`);
});

Deno.test("A Batcher restored mid-epoch serves exactly the batches the uninterrupted one serves", () => {
  const src = traced(23, "dynamic");
  for (const dropLast of [true, false]) {
    for (const stop of [0, 1, 4, 5, 6, 9]) {
      const s = splitSeed(11);
      const a = new Batcher(src, { batchSize: 5, dropLast, order: s.dataOrder, binarize: s.binarize });
      for (let k = 0; k < stop; k++) a.next();
      const saved = JSON.parse(JSON.stringify(a.state()));
      const expected = Array.from({ length: 7 }, () => a.next());
      const t = splitSeed(11);
      const b = new Batcher(src, { batchSize: 5, dropLast, order: t.dataOrder, binarize: t.binarize });
      b.restore(saved);
      const got = Array.from({ length: 7 }, () => b.next());
      assertEquals(got, expected, `dropLast ${dropLast}, resumed after ${stop} batches`);
      assertEquals(b.state(), a.state());
      assertEquals([t.dataOrder.counter, t.binarize.counter], [s.dataOrder.counter, s.binarize.counter]);
    }
  }
});

Deno.test("Batcher.restore() refuses a state for another batch size, policy or seed", () => {
  const s = splitSeed(2);
  const a = new Batcher(traced(20), { batchSize: 4, order: s.dataOrder });
  a.next();
  const state = a.state();
  const other = (batchSize: number, dropLast: boolean, seed: number) =>
    new Batcher(traced(20), { batchSize, dropLast, order: splitSeed(seed).dataOrder });
  assertThrows(() => other(5, true, 2).restore(state), Error, "batches of 4");
  assertThrows(() => other(4, false, 2).restore(state), Error, "dropLast true");
  assertThrows(() => other(4, true, 3).restore(state), Error, "different root seed");
  assertThrows(() => other(4, true, 2).restore({ ...state, indexInEpoch: 0 }), Error, "indexInEpoch 0");
});

Deno.test("evalBatches() covers every image once in order, the last batch holding the remainder", () => {
  const src = traced(10);
  const batches = [...evalBatches(src, 4)];
  assertEquals(batches.map((b) => [b.start, b.n]), [[0, 4], [4, 4], [8, 2]]);
  assertEquals(batches.flatMap((b) => firstPixels(b.images, b.n)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(Array.from(batches[2].labels!), [8, 9]);
  batches[0].images[0] = 99;
  assertEquals(src.images[0], 0, "batches are copies");
});

Deno.test("evalBatches() binarizes a dynamic dataset the same way for a stream in the same state", async () => {
  const ds = await loadDataset("mnist", "test", { fixtures: true, binarize: "dynamic", limit: 20 });
  const once = () => [...evalBatches(ds, 8, { binarize: new RandomStream("eval", 77) })].map((b) => b.images);
  const a = once();
  assertEquals(a, once());
  assert(a.every((x) => x.every((v) => v === 0 || v === 1)), "samples are binary");
  assertThrows(() => evalBatches(ds, 8), Error, "needs a binarize stream");
});
