import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { AMAT_ROW_BYTES, AmatParser, parseAmat } from "./amat.ts";
import { DataError } from "./errors.ts";
import { amatText, patternRow } from "./test_util.ts";

const rows = [patternRow(1), patternRow(2), patternRow(3)];

Deno.test("parseAmat() reads rows of 784 values 0/1 into a row-major Float32Array", () => {
  const { rows: n, images } = parseAmat(amatText(rows), "x.amat");
  assertEquals(n, 3);
  assertEquals(images.length, 3 * 784);
  assertEquals(Array.from(images.subarray(784, 2 * 784)), rows[1]);
});

Deno.test("AmatParser gives the same result whatever the chunk boundaries", () => {
  const bytes = amatText(rows);
  const whole = parseAmat(bytes, "x.amat").images;
  for (const size of [1, 7, 1567, 1568, 1569, 3000]) {
    const p = new AmatParser("x.amat", 3);
    for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
    assertEquals(p.finish().images, whole, `chunks of ${size}`);
  }
});

Deno.test("AmatParser checks every row but stores only `capacity` rows", () => {
  const p = new AmatParser("x.amat", 2);
  p.push(amatText(rows));
  const r = p.finish();
  assertEquals(r.rows, 3);
  assertEquals(r.images.length, 2 * 784);
  const bad = amatText([...rows, patternRow(4, 783), rows[0]]);
  const q = new AmatParser("x.amat", 1);
  assertThrows(() => q.push(bad), DataError, "line 4 has 783 values");
});

Deno.test("parseAmat() refuses a row of 783 values, naming the line and byte offset", () => {
  const e = assertThrows(
    () => parseAmat(amatText([rows[0], patternRow(2, 783), rows[2]]), "short.amat"),
    DataError,
  );
  assertStringIncludes(e.message, "short.amat");
  assertStringIncludes(e.message, "line 2 has 783 values; expected 784");
  assertStringIncludes(e.message, `byte offset ${AMAT_ROW_BYTES + 1565}`);
  assertEquals(e.offset, AMAT_ROW_BYTES);
});

Deno.test("parseAmat() refuses a row of 785 values and counts them", () => {
  const e = assertThrows(
    () => parseAmat(amatText([rows[0], patternRow(2, 785), rows[2]]), "long.amat"),
    DataError,
  );
  assertStringIncludes(e.message, "line 2 has 785 values; expected 784");
});

Deno.test("parseAmat() refuses a character other than 0/1, quoting it with line, value and offset", () => {
  const bytes = amatText(rows);
  bytes[AMAT_ROW_BYTES * 2 + 10] = "2".charCodeAt(0);
  const e = assertThrows(() => parseAmat(bytes, "bad.amat"), DataError);
  assertStringIncludes(e.message, "bad.amat: line 3, value 6");
  assertStringIncludes(e.message, `byte offset ${AMAT_ROW_BYTES * 2 + 10}`);
  assertStringIncludes(e.message, "expected 0 or 1, found '2' (0x32)");
});

Deno.test("parseAmat() refuses Windows line endings and tabs as separators", () => {
  const crlf = new TextEncoder().encode(patternRow(1).join(" ") + "\r\n");
  assertThrows(() => parseAmat(crlf, "crlf.amat"), DataError, "should end with a newline");
  const tabs = new TextEncoder().encode(patternRow(1).join("\t") + "\n");
  assertThrows(() => parseAmat(tabs, "tabs.amat"), DataError, "expected a space, found tab (0x09)");
});

Deno.test("parseAmat() refuses an empty file", () => {
  assertThrows(
    () => parseAmat(new Uint8Array(0), "empty.amat"),
    DataError,
    "empty.amat: the content is empty",
  );
});

Deno.test("parseAmat() refuses content that stops inside a row, and one missing its last newline", () => {
  const bytes = amatText(rows);
  const e = assertThrows(() => parseAmat(bytes.subarray(0, AMAT_ROW_BYTES + 500), "cut.amat"), DataError);
  assertStringIncludes(e.message, "ends inside line 2");
  assertStringIncludes(e.message, "truncated");
  assertThrows(
    () => parseAmat(bytes.subarray(0, bytes.length - 1), "nonl.amat"),
    DataError,
    "ends inside line 3",
  );
});
