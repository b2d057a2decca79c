import { assert, assertEquals, assertThrows } from "@std/assert";
import { decode, decodeApng } from "fast-png";
import { synthSequence } from "../../tests/fixtures/report/synthetic.ts";
import {
  apngBytes,
  blankImage,
  canvasImage,
  drawBox,
  pngBytes,
  pngDataUri,
  sampleGridPng,
  sequenceApng,
  sequenceStripPng,
  WRITE_COLOR,
} from "./images.ts";

const pixel = (img: { width: number; data: ArrayLike<number> }, x: number, y: number, ch = 3) =>
  Array.from({ length: ch }, (_, c) => img.data[(y * img.width + x) * ch + c]);

Deno.test("a canvas becomes a PNG that decodes to the same intensities, white ink on black", () => {
  const values = [0, 0.5, 1, 0, 1, 0.25];
  const png = decode(pngBytes(canvasImage(values, 3, 2)));
  assertEquals([png.width, png.height, png.channels], [3, 2, 3]);
  assertEquals(pixel(png, 1, 0), [128, 128, 128]);
  assertEquals(pixel(png, 2, 0), [255, 255, 255]);
  assertEquals(pixel(png, 2, 1), [64, 64, 64]);
});

Deno.test("canvasImage() refuses a canvas of the wrong size, naming both sizes", () => {
  assertThrows(() => canvasImage([0, 1, 0], 2, 2), Error, "Canvas has 3 values, expected A*B = 2*2 = 4");
});

Deno.test("drawBox() outlines gX ± (N-1)/2·δ in 1-based pixel coordinates at the image's scale", () => {
  // Centre pixel 3 (1-based), N = 3, δ = 1: the box spans pixels 2..4, i.e. screen (2-0.5)*4 = 6 .. (4-0.5)*4 = 14.
  const img = blankImage(24, 24);
  drawBox(img, { gX: 3, gY: 3, delta: 1, N: 3 }, 4, WRITE_COLOR);
  assertEquals(pixel(img, 6, 10), [...WRITE_COLOR]);
  assertEquals(pixel(img, 14, 10), [...WRITE_COLOR]);
  assertEquals(pixel(img, 10, 6), [...WRITE_COLOR]);
  assertEquals(pixel(img, 10, 10), [0, 0, 0]);
  assertEquals(pixel(img, 5, 10), [0, 0, 0]);
  assertEquals(pixel(img, 15, 10), [0, 0, 0]);
});

Deno.test("drawBox() clips a box that extends beyond the image instead of failing", () => {
  const img = blankImage(8, 8);
  drawBox(img, { gX: 0, gY: 0, delta: 10, N: 5 }, 1, WRITE_COLOR);
  drawBox(img, { gX: NaN, gY: 1, delta: 1, N: 2 }, 1, WRITE_COLOR);
  assertEquals(img.data.length, 8 * 8 * 3);
});

Deno.test("an APNG of a drawing sequence decodes with one frame per glimpse, the last frame the final canvas", () => {
  const seq = synthSequence(0, 6, 28, 28, true);
  const bytes = sequenceApng(seq, 2);
  const apng = decodeApng(bytes);
  assertEquals(apng.numberOfFrames, 6);
  assertEquals(apng.frames.length, 6);
  assertEquals([apng.width, apng.height], [56, 56]);
  assertEquals(apng.frames[5].delayNumber, 1500);
  // The still image (frame 0) decodes as a plain PNG too.
  assertEquals(decode(bytes).width, 56);
  // Frames differ: the canvas fills in over the glimpses.
  const ink = (f: ArrayLike<number>) => Array.from(f).reduce((a, b) => a + b, 0);
  assert(ink(apng.frames[5].data) > ink(apng.frames[0].data));
});

Deno.test("apngBytes() refuses frames of different sizes", () => {
  assertThrows(
    () => apngBytes([blankImage(2, 2), blankImage(3, 2)], [100, 100]),
    Error,
    "frame 1 is 3x2, expected 2x2",
  );
});

Deno.test("sample grids and strips have the sizes their layout implies", () => {
  const grid = decode(sampleGridPng(Array.from({ length: 5 }, () => new Array(28 * 28).fill(0.5)), 28, 28));
  assertEquals([grid.width, grid.height], [3 * 28 + 4, 2 * 28 + 3]);
  const strip = decode(sequenceStripPng(synthSequence(1, 20, 28, 28, false), 3, 16));
  assertEquals([strip.width, strip.height], [16 * 84 + 17 * 2, 2 * 84 + 3 * 2]);
  assert(pngDataUri(new Uint8Array([1, 2, 3])).startsWith("data:image/png;base64,AQID"));
});
