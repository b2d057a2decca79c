import { assert, assertEquals, assertThrows } from "@std/assert";
import { decode, decodeApng } from "fast-png";
import { synthSequence } from "../../tests/fixtures/report/synthetic.ts";
import {
  apngBytes,
  blankImage,
  canvasImage,
  changedRegion,
  drawBox,
  pngBytes,
  pngDataUri,
  sampleGridPng,
  sequenceApng,
  sequenceFrames,
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

/**
 * Plays an APNG as the specification says (each frame's rectangle drawn over the previous output; every
 * frame of apngBytes() has dispose_op and blend_op 0): fast-png's decodeApng() starts each partial frame
 * from a blank buffer instead, so the frames are composited here from their own chunks.
 */
function playApng(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Array<{ type: string; data: Uint8Array }> = [];
  for (let off = 8; off + 12 <= bytes.length;) {
    const len = dv.getUint32(off);
    chunks.push({
      type: String.fromCharCode(...bytes.subarray(off + 4, off + 8)),
      data: bytes.subarray(off + 8, off + 8 + len),
    });
    off += 12 + len;
  }
  const ihdr = chunks.find((c) => c.type === "IHDR")!.data;
  const width = new DataView(ihdr.buffer, ihdr.byteOffset).getUint32(0);
  const height = new DataView(ihdr.buffer, ihdr.byteOffset).getUint32(4);
  const out: Uint8Array[] = [];
  const canvas = new Uint8Array(width * height * 3);
  let region: number[] = [];
  let parts: Uint8Array[] = [];
  const flush = () => {
    if (parts.length === 0) return;
    const [w, h, x, y] = region;
    const head = ihdr.slice();
    new DataView(head.buffer).setUint32(0, w);
    new DataView(head.buffer).setUint32(4, h);
    // A plain PNG of the rectangle (fast-png does not check CRCs unless asked, so they stay 0).
    const chunk = (type: string, data: Uint8Array) => {
      const b = new Uint8Array(12 + data.length);
      new DataView(b.buffer).setUint32(0, data.length);
      b.set([...type].map((ch) => ch.charCodeAt(0)), 4);
      b.set(data, 8);
      return b;
    };
    const pieces = [
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", head),
      ...parts.map((p) => chunk("IDAT", p)),
      chunk("IEND", new Uint8Array(0)),
    ];
    const png = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    pieces.reduce((off, p) => (png.set(p, off), off + p.length), 0);
    const img = decode(png);
    for (let r = 0; r < h; r++) {
      canvas.set(img.data.subarray(r * w * 3, (r + 1) * w * 3) as Uint8Array, ((y + r) * width + x) * 3);
    }
    out.push(canvas.slice());
    parts = [];
  };
  for (const c of chunks) {
    if (c.type === "fcTL") {
      flush();
      const f = new DataView(c.data.buffer, c.data.byteOffset);
      region = [f.getUint32(4), f.getUint32(8), f.getUint32(12), f.getUint32(16)];
      assertEquals([c.data[24], c.data[25]], [0, 0]);
    } else if (c.type === "IDAT") parts.push(c.data);
    else if (c.type === "fdAT") parts.push(c.data.subarray(4));
  }
  flush();
  return out;
}

Deno.test("an APNG that stores only each frame's changed rectangle plays exactly the frames it was given", () => {
  const frames = sequenceFrames(synthSequence(3, 12, 28, 28, true), 4);
  frames.push(frames[frames.length - 1]); // an unchanged frame still plays
  const played = playApng(apngBytes(frames, frames.map(() => 100)));
  assertEquals(played.length, frames.length);
  played.forEach((f, i) => assert(f.every((v, k) => v === frames[i].data[k]), `frame ${i} differs`));
  // Smaller than full frames: a later frame stores only where the canvas and the boxes changed.
  const full = frames.reduce((n, f) => n + pngBytes(f).length, 0);
  assert(apngBytes(frames, frames.map(() => 100)).length < full / 2);
});

Deno.test("changedRegion() is the smallest rectangle around every differing pixel, or null when none differs", () => {
  const a = blankImage(10, 8);
  const b = blankImage(10, 8);
  assertEquals(changedRegion(a, b), null);
  b.data[(2 * 10 + 7) * 3 + 1] = 9; // pixel (7, 2), green channel
  b.data[(5 * 10 + 3) * 3] = 1; // pixel (3, 5), red channel
  assertEquals(changedRegion(a, b), { x: 3, y: 2, width: 5, height: 4 });
});
