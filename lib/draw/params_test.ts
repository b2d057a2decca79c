/**
 * Tests of the model's variables and their seeded initialisation.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertLessOrEqual, assertNotEquals } from "@std/assert";
import { initBackend } from "../backend.ts";
import { RandomStream } from "../random.ts";
import { PAPER_MNIST } from "../config/model.ts";
import { coverBias } from "./attention.ts";
import { createParams, disposeParams, initialValues, paramShapes } from "./params.ts";

await initBackend("cpu");

Deno.test("initialValues() is a pure function of the init stream: same seed same values, other seed other values", () => {
  const a = initialValues(PAPER_MNIST, new RandomStream("init", 1));
  const b = initialValues(PAPER_MNIST, new RandomStream("init", 1));
  const c = initialValues(PAPER_MNIST, new RandomStream("init", 2));
  assertEquals([...a.keys()], paramShapes(PAPER_MNIST).map(([n]) => n));
  for (const [name, v] of a) assertEquals(v, b.get(name), name);
  assertNotEquals(a.get("enc/W"), c.get("enc/W"));
});

Deno.test("initialValues() sets the LSTM forget-gate biases to 1, Glorot-bounded weights and zero initial states", () => {
  const cfg = { ...PAPER_MNIST, encSize: 8, decSize: 6, nZ: 3 };
  const v = initialValues(cfg, new RandomStream("init", 3));
  for (const [name, H] of [["enc/b", 8], ["dec/b", 6]] as const) {
    const b = Array.from(v.get(name)!);
    assertEquals(b, [...new Array(H).fill(0), ...new Array(H).fill(1), ...new Array(2 * H).fill(0)], name);
  }
  for (const [name, [fanIn, fanOut]] of paramShapes(cfg).filter(([n]) => n.endsWith("W"))) {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = v.get(name)!;
    assert(w.some((x) => x !== 0), `${name} is all zero`);
    for (const x of w) assertLessOrEqual(Math.abs(x), limit + 1e-7);
  }
  for (const name of ["init/canvas", "init/hEnc", "init/hDec"]) {
    assert(v.get(name)!.every((x) => x === 0), name);
  }
});

Deno.test("initialValues() puts each head's own cover bias in read/attB and write/attB, and zeros for the zero inits", () => {
  const cover = initialValues({ ...PAPER_MNIST, readN: 2, writeN: 5 }, new RandomStream("init", 4));
  const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
  assertEquals(Array.from(cover.get("read/attB")!), f32(coverBias(2, 28, 28)));
  assertEquals(Array.from(cover.get("write/attB")!), f32(coverBias(5, 28, 28)));
  assertNotEquals(Array.from(cover.get("read/attB")!), Array.from(cover.get("write/attB")!));
  const zero = initialValues(
    { ...PAPER_MNIST, readInit: "zero", writeInit: "zero" },
    new RandomStream("init", 4),
  );
  assertEquals(Array.from(zero.get("read/attB")!), [0, 0, 0, 0, 0]);
  assertEquals(Array.from(zero.get("write/attB")!), [0, 0, 0, 0, 0]);
});

Deno.test("initialValues() initialises the read and write heads independently (readInit, writeInit)", () => {
  const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
  const readOnly = initialValues({ ...PAPER_MNIST, writeInit: "zero" }, new RandomStream("init", 4));
  assertEquals(Array.from(readOnly.get("read/attB")!), f32(coverBias(2, 28, 28)));
  assertEquals(Array.from(readOnly.get("write/attB")!), [0, 0, 0, 0, 0]);
  const writeOnly = initialValues({ ...PAPER_MNIST, readInit: "zero" }, new RandomStream("init", 4));
  assertEquals(Array.from(writeOnly.get("read/attB")!), [0, 0, 0, 0, 0]);
  assertEquals(Array.from(writeOnly.get("write/attB")!), f32(coverBias(5, 28, 28)));
});

Deno.test("coverBias() gives gamma = 1, a centred grid and N strides spanning the image", () => {
  for (const [N, A, B] of [[2, 28, 28], [5, 28, 28], [3, 7, 5], [1, 9, 9]]) {
    const [gXt, gYt, logSigma2, logDeltaT, logGamma] = coverBias(N, A, B);
    assertEquals([gXt, gYt, logGamma], [0, 0, 0]);
    const delta = N > 1 ? ((Math.max(A, B) - 1) / (N - 1)) * Math.exp(logDeltaT) : Math.max(A, B);
    assertAlmostEquals(N * delta, Math.max(A, B), 1e-9);
    assertAlmostEquals(Math.exp(logSigma2), (delta / 2) ** 2, 1e-9);
  }
});

Deno.test("createParams() makes one trainable variable per shape and disposeParams() frees them all", () => {
  const cfg = { ...PAPER_MNIST, encSize: 8, decSize: 6, nZ: 3, T: 2 };
  const before = tf.memory().numTensors;
  const p = createParams(cfg, new RandomStream("init", 5));
  for (const [name, shape] of paramShapes(cfg)) {
    assertEquals(p[name].shape, shape, name);
    assert(p[name].trainable, `${name} is not trainable`);
  }
  assertEquals(Object.keys(p).length, paramShapes(cfg).length);
  disposeParams(p);
  assertEquals(tf.memory().numTensors, before);
});
