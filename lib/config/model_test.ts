/**
 * Tests of the model config: the paper preset and validation of impossible values.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { ConfigError, MODEL_PRESETS, PAPER_MNIST, validateDrawConfig } from "./model.ts";

Deno.test("PAPER_MNIST is Table 3's MNIST model: T=64, LSTM 256, z 100, read 2x2, write 5x5, 28x28", () => {
  const { A, B, T, nZ, encSize, decSize, attention, readN, writeN } = PAPER_MNIST;
  assertEquals({ A, B, T, nZ, encSize, decSize, attention, readN, writeN }, {
    A: 28,
    B: 28,
    T: 64,
    nZ: 100,
    encSize: 256,
    decSize: 256,
    attention: true,
    readN: 2,
    writeN: 5,
  });
  assertEquals(PAPER_MNIST.readInit, "cover");
});

Deno.test("validateDrawConfig() accepts every preset unchanged", () => {
  for (const [name, cfg] of Object.entries(MODEL_PRESETS)) {
    assertEquals(validateDrawConfig({ ...cfg }), { ...cfg }, name);
  }
});

const bad: Array<[string, Record<string, unknown>, string]> = [
  ["readN < 1", { readN: 0 }, "model.readN must be an integer from 1"],
  ["writeN < 1", { writeN: -1 }, "model.writeN must be an integer from 1"],
  ["T < 1", { T: 0 }, "model.T must be an integer from 1"],
  ["a fractional T", { T: 2.5 }, "got 2.5"],
  ["nZ < 1", { nZ: 0 }, "model.nZ"],
  ["a zero-sized LSTM", { encSize: 0 }, "model.encSize"],
  ["a write grid larger than the image", { writeN: 29 }, "model.writeN 29 is larger than the image (28x28)"],
  ["a read grid larger than the narrower side", { A: 28, B: 6, readN: 7 }, "model.readN 7 is larger"],
  ["T given as a string", { T: "64" }, 'model.T must be an integer from 1 to 10000, got "64"'],
  ["attention given as a string", { attention: "yes" }, 'model.attention must be true or false, got "yes"'],
  ["an unknown attention init", { readInit: "full" }, 'model.readInit must be "cover" or "zero"'],
  ["an unknown key", { zSize: 100 }, "model.zSize is not a model setting"],
  ["a NaN image width", { A: NaN }, "model.A"],
];

for (const [what, patch, message] of bad) {
  Deno.test(`validateDrawConfig() rejects ${what} with a clear error`, () => {
    assertThrows(() => validateDrawConfig({ ...PAPER_MNIST, ...patch }), ConfigError, message);
  });
}

Deno.test("validateDrawConfig() rejects a missing key, naming it", () => {
  const { writeN: _, ...rest } = PAPER_MNIST;
  assertThrows(() => validateDrawConfig(rest), ConfigError, "model.writeN is missing");
});

Deno.test("validateDrawConfig() rejects a non-object and names the field prefix it was given", () => {
  assertThrows(() => validateDrawConfig(null), ConfigError, "model must be an object, got null");
  assertThrows(() => validateDrawConfig([1, 2]), ConfigError, "model must be an object");
  assertThrows(
    () => validateDrawConfig({ ...PAPER_MNIST, T: 0 }, "experiment.model"),
    ConfigError,
    "experiment.model.T",
  );
});
