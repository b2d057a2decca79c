import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { DataError } from "./errors.ts";
import { IdxReader, parseIdxImages, parseIdxLabels } from "./idx.ts";
import { fixtureContent } from "./test_util.ts";

const images = await fixtureContent("mnist", "t10k-images-idx3-ubyte");
const labels = await fixtureContent("mnist", "t10k-labels-idx1-ubyte");

function withUint32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value);
  return copy;
}

Deno.test("parseIdxImages() and parseIdxLabels() read the fixture's 256 test images and labels", () => {
  const r = parseIdxImages(images, "t10k-images-idx3-ubyte");
  assertEquals([r.count, r.rows, r.cols, r.pixels.length], [256, 28, 28, 256 * 784]);
  assertEquals(r.pixels, images.subarray(16));
  const first = Array.from(parseIdxLabels(labels, "t10k-labels-idx1-ubyte").subarray(0, 10));
  assertEquals(first.join(","), "7,2,1,0,4,1,4,9,5,9");
});

Deno.test("parseIdxImages() refuses a wrong magic number, naming the file, offset 0 and both values", () => {
  const e = assertThrows(() => parseIdxImages(labels, "imgs"), DataError);
  assertStringIncludes(e.message, "imgs: wrong IDX magic number at byte offset 0: expected 2051");
  assertStringIncludes(e.message, "found 2049 (0x00000801) (a labels file)");
  assertEquals(e.offset, 0);
  assertThrows(() => parseIdxLabels(withUint32(labels, 0, 7), "lbls"), DataError, "expected 2049");
});

Deno.test("parseIdxImages() refuses an image count that does not match the byte length", () => {
  const more = assertThrows(() => parseIdxImages(withUint32(images, 4, 300), "imgs"), DataError);
  assertStringIncludes(more.message, "imgs: wrong image count: the header (byte offset 4) says 300 images");
  assertStringIncludes(
    more.message,
    "needs exactly 235,216 bytes, but the content has 200,720 bytes (256 images)",
  );
  const fewer = assertThrows(() => parseIdxImages(withUint32(images, 4, 255), "imgs"), DataError);
  assertStringIncludes(fewer.message, "says 255 images, which needs exactly 199,936 bytes");
  assertThrows(
    () => parseIdxImages(images.subarray(0, images.length - 1), "imgs"),
    DataError,
    "200,719 bytes",
  );
});

Deno.test("parseIdxLabels() refuses a label count off by one and a label that is not a digit", () => {
  assertThrows(() => parseIdxLabels(withUint32(labels, 4, 257), "lbls"), DataError, "says 257 labels");
  const bad = labels.slice();
  bad[8 + 5] = 10;
  const e = assertThrows(() => parseIdxLabels(bad, "lbls"), DataError);
  assertStringIncludes(e.message, "label 5 at byte offset 13 is 10; expected a digit 0 to 9");
});

Deno.test("parseIdxImages() refuses images that are not 28 x 28 and a header cut short", () => {
  assertThrows(
    () => parseIdxImages(withUint32(images, 8, 32), "imgs"),
    DataError,
    "32 rows per image at byte offset 8",
  );
  assertThrows(() => parseIdxImages(images.subarray(0, 10), "imgs"), DataError, "10 bytes, too short");
  assertThrows(() => parseIdxImages(new Uint8Array(0), "imgs"), DataError, "imgs: the content is empty");
});

Deno.test("IdxReader hands over the same bytes whatever the chunk boundaries", () => {
  for (const size of [1, 5, 16, 17, 1000]) {
    const got = new Uint8Array(256 * 784);
    const r = new IdxReader("imgs", "images", () => {}, (b, at) => got.set(b, at));
    for (let i = 0; i < images.length; i += size) r.push(images.subarray(i, i + size));
    assertEquals(r.finish().count, 256);
    assertEquals(got, images.subarray(16), `chunks of ${size}`);
  }
});
