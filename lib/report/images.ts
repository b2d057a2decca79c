/**
 * Images for the report as PNG data URIs: sample grids, drawing-sequence strips with the attention boxes
 * drawn on every canvas, and the same sequence as an animated PNG (APNG, which every current browser plays
 * in a plain `<img>`, so the page needs no script).
 *
 * Pure: no IO.
 * @module
 */
import { encode } from "fast-png";
import type { DrawingSequence } from "../record/types.ts";

/** An 8-bit RGB image. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Colour as [r, g, b]. */
export type Rgb = readonly [number, number, number];

/** The write box is drawn in red, the read box in green, as in the paper's figures. */
export const WRITE_COLOR: Rgb = [255, 40, 40];
export const READ_COLOR: Rgb = [40, 220, 60];
const GAP_COLOR: Rgb = [150, 150, 150];

/** One attention box in 1-based pixel coordinates (the paper's convention): centre ± (N-1)/2·δ. */
export interface AttentionBox {
  gX: number;
  gY: number;
  delta: number;
  N: number;
}

/** A blank image of one colour. */
export function blankImage(width: number, height: number, color: Rgb = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(color, i * 3);
  return { width, height, data };
}

/**
 * A canvas of A·B intensities in [0, 1] (row-major, B rows of A) as an RGB image, each pixel drawn as a
 * `scale` x `scale` block: ink is white on black, as in the paper's figures. Values outside [0, 1] are
 * clamped and non-finite ones drawn black.
 */
export function canvasImage(values: readonly number[], A: number, B: number, scale = 1): RgbImage {
  if (values.length !== A * B) {
    throw new Error(`Canvas has ${values.length} values, expected A*B = ${A}*${B} = ${A * B}`);
  }
  const img = blankImage(A * scale, B * scale);
  for (let y = 0; y < B; y++) {
    for (let x = 0; x < A; x++) {
      const v = values[y * A + x];
      const g = Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0;
      for (let dy = 0; dy < scale; dy++) {
        const row = (y * scale + dy) * img.width;
        for (let dx = 0; dx < scale; dx++) {
          img.data.fill(g, (row + x * scale + dx) * 3, (row + x * scale + dx) * 3 + 3);
        }
      }
    }
  }
  return img;
}

function setPixel(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(c, (y * img.width + x) * 3);
}

/**
 * Draws the outline of an attention box on an image made by {@linkcode canvasImage} with the same `scale`.
 * Pixel a (1-based) covers [(a-1)·scale, a·scale) on screen, so a coordinate u maps to (u - 0.5)·scale.
 * Parts outside the image are clipped; a box smaller than a pixel is still drawn as a small square.
 */
export function drawBox(img: RgbImage, box: AttentionBox, scale: number, color: Rgb, thickness = 1): void {
  const half = ((box.N - 1) / 2) * Math.abs(box.delta);
  const toScreen = (u: number) => (u - 0.5) * scale;
  let x0 = Math.round(toScreen(box.gX - half));
  let x1 = Math.round(toScreen(box.gX + half));
  let y0 = Math.round(toScreen(box.gY - half));
  let y1 = Math.round(toScreen(box.gY + half));
  if (![x0, x1, y0, y1].every(Number.isFinite)) return;
  if (x1 - x0 < 2) [x0, x1] = [x0 - 1, x0 + 1];
  if (y1 - y0 < 2) [y0, y1] = [y0 - 1, y0 + 1];
  for (let k = 0; k < thickness; k++) {
    for (let x = x0; x <= x1; x++) {
      setPixel(img, x, y0 + k, color);
      setPixel(img, x, y1 - k, color);
    }
    for (let y = y0; y <= y1; y++) {
      setPixel(img, x0 + k, y, color);
      setPixel(img, x1 - k, y, color);
    }
  }
}

/** Lays images of one size out in a grid with `gap` pixels of grey between them. */
export function tile(images: readonly RgbImage[], columns: number, gap = 1): RgbImage {
  if (images.length === 0) throw new Error("tile() needs at least one image");
  const { width: w, height: h } = images[0];
  const cols = Math.max(1, Math.min(columns, images.length));
  const rows = Math.ceil(images.length / cols);
  const out = blankImage(cols * w + (cols + 1) * gap, rows * h + (rows + 1) * gap, GAP_COLOR);
  images.forEach((img, i) => {
    const ox = gap + (i % cols) * (w + gap);
    const oy = gap + Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      out.data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * out.width + ox) * 3);
    }
  });
  return out;
}

/** Encodes an RGB image as a PNG file (deflate level 9: a third smaller than the default, same pixels). */
export function pngBytes(img: RgbImage): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, channels: 3, depth: 8 }, {
    zlib: { level: 9 },
  });
}

/** The smallest rectangle holding every pixel where `b` differs from `a` (same size), or null if none does. */
export function changedRegion(
  a: RgbImage,
  b: RgbImage,
): { x: number; y: number; width: number; height: number } | null {
  let x0 = b.width, y0 = b.height, x1 = -1, y1 = -1;
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      const k = (y * b.width + x) * 3;
      if (a.data[k] !== b.data[k] || a.data[k + 1] !== b.data[k + 1] || a.data[k + 2] !== b.data[k + 2]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The pixels of a rectangle of an image. */
export function crop(img: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * img.width + x) * 3;
    data.set(img.data.subarray(from, from + width * 3), r * width * 3);
  }
  return { width, height, data };
}

/** Base64 of bytes (chunked, so large images do not overflow the argument list). */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A PNG file as a `data:image/png;base64,` URI. */
export function pngDataUri(bytes: Uint8Array): string {
  return `data:image/png;base64,${base64(bytes)}`;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function readChunks(png: Uint8Array): Array<{ type: string; data: Uint8Array }> {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Array<{ type: string; data: Uint8Array }> = [];
  for (let off = 8; off + 12 <= png.length;) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    out.push({ type, data: png.subarray(off + 8, off + 8 + len) });
    off += 12 + len;
  }
  return out;
}

/**
 * Assembles an animated PNG from frames of one size. Frame 0 is also the still image that a viewer without
 * APNG support shows. `delaysMs[i]` is how long frame i stays; the animation loops forever. Each later frame
 * stores only the rectangle where it differs from the one before (drawn over it, nothing disposed), so a
 * viewer shows exactly the given frames at a fraction of the size.
 */
export function apngBytes(frames: readonly RgbImage[], delaysMs: readonly number[]): Uint8Array {
  if (frames.length === 0) throw new Error("apngBytes() needs at least one frame");
  const { width, height } = frames[0];
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  const actl = new Uint8Array(8);
  new DataView(actl.buffer).setUint32(0, frames.length); // num_frames; num_plays 0 = forever
  let seq = 0;
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height) {
      throw new Error(`APNG frame ${i} is ${f.width}x${f.height}, expected ${width}x${height}`);
    }
    // An unchanged frame still needs a region: its first pixel, as it was.
    const region = i === 0
      ? { x: 0, y: 0, width, height }
      : changedRegion(frames[i - 1], f) ?? { x: 0, y: 0, width: 1, height: 1 };
    const part = i === 0 ? f : crop(f, region.x, region.y, region.width, region.height);
    const chunks = readChunks(pngBytes(part));
    if (i === 0) {
      parts.push(chunk("IHDR", chunks.find((c) => c.type === "IHDR")!.data), chunk("acTL", actl));
    }
    const fctl = new Uint8Array(26);
    const dv = new DataView(fctl.buffer);
    dv.setUint32(0, seq++);
    dv.setUint32(4, region.width);
    dv.setUint32(8, region.height);
    dv.setUint32(12, region.x);
    dv.setUint32(16, region.y);
    dv.setUint16(20, Math.max(1, Math.round(delaysMs[i] ?? 100)));
    dv.setUint16(22, 1000); // delay in milliseconds; dispose_op and blend_op 0 (none, source)
    parts.push(chunk("fcTL", fctl));
    for (const c of chunks.filter((c) => c.type === "IDAT")) {
      if (i === 0) parts.push(chunk("IDAT", c.data));
      else {
        const fd = new Uint8Array(4 + c.data.length);
        new DataView(fd.buffer).setUint32(0, seq++);
        fd.set(c.data, 4);
        parts.push(chunk("fdAT", fd));
      }
    }
  });
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Every glimpse of a drawing sequence as an image with its write box (red) and read box (green). */
export function sequenceFrames(seq: DrawingSequence, scale: number): RgbImage[] {
  const thickness = scale >= 4 ? 2 : 1;
  return seq.canvases.map((c, t) => {
    const img = canvasImage(c, seq.A, seq.B, scale);
    const r = seq.read?.[t];
    if (r) drawBox(img, r, scale, READ_COLOR, thickness);
    const w = seq.write?.[t];
    if (w) drawBox(img, w, scale, WRITE_COLOR, thickness);
    return img;
  });
}

/** A grid of final canvases (prior samples) as a PNG, at one screen pixel per image pixel. */
export function sampleGridPng(grid: readonly number[][], A: number, B: number): Uint8Array {
  const cols = Math.ceil(Math.sqrt(grid.length));
  return pngBytes(tile(grid.map((g) => canvasImage(g, A, B)), cols, 1));
}

/** A drawing sequence as one strip of frames (up to `columns` per row), boxes drawn on each canvas. */
export function sequenceStripPng(seq: DrawingSequence, scale = 3, columns = 16): Uint8Array {
  return pngBytes(tile(sequenceFrames(seq, scale), columns, 2));
}

/** A drawing sequence as an APNG that plays the glimpses and holds the final canvas for `holdMs`. */
export function sequenceApng(seq: DrawingSequence, scale = 4, frameMs = 120, holdMs = 1500): Uint8Array {
  const frames = sequenceFrames(seq, scale);
  return apngBytes(frames, frames.map((_, i) => (i === frames.length - 1 ? holdMs : frameMs)));
}
