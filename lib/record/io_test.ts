import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import {
  appendJsonl,
  isTempFile,
  readJson,
  readJsonl,
  RecordError,
  sha256Hex,
  truncateJsonlToStep,
  writeFileAtomic,
  writeJsonAtomic,
} from "./io.ts";
import { withTempDir } from "./testutil.ts";

Deno.test("writeJsonAtomic() replaces the file and leaves no temporary file behind", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/a.json`;
    await writeJsonAtomic(p, { v: 1 });
    await writeJsonAtomic(p, { v: 2, nested: [1, 2] });
    assertEquals(await readJson(p, "test"), { v: 2, nested: [1, 2] });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assertEquals(names, ["a.json"]);
  }));

Deno.test("a crash mid-write (a leftover temp file) leaves the target intact and is recognisable as temporary", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/manifest.json`;
    await writeJsonAtomic(p, { status: "running" });
    // What a writer killed between creating and renaming its temp file leaves behind.
    const tmp = `${dir}/.manifest.json.tmp-999-1-deadbeef`;
    await Deno.writeTextFile(tmp, '{"status": "compl');
    assertEquals(await readJson(p, "manifest"), { status: "running" });
    assert(isTempFile(".manifest.json.tmp-999-1-deadbeef"));
    assert(!isTempFile("manifest.json"));
    assert(!isTempFile(".gitignore"));
  }));

Deno.test("writeFileAtomic() into a missing folder fails naming the file and leaves nothing behind", async () => {
  const err = await assertRejects(() => writeFileAtomic("/nonexistent-redraw-dir/x.json", "{}"), RecordError);
  assertStringIncludes(err.message, "/nonexistent-redraw-dir/x.json");
});

Deno.test("appendJsonl() writes one line per record and readJsonl() reads them back in order", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    for (let step = 1; step <= 3; step++) await appendJsonl(p, { step, loss: step * 0.5 });
    const text = await Deno.readTextFile(p);
    assertEquals(text.split("\n").length, 4);
    const r = await readJsonl<{ step: number }>(p);
    assertEquals(r.lines.map((l) => l.step), [1, 2, 3]);
    assertEquals(r.tornTail, false);
    assertEquals(r.badLines, []);
  }));

Deno.test("readJsonl() ignores a half-written last line and reports it as a torn tail", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\n{"step":2}\n{"step":3,"lo');
    const r = await readJsonl<{ step: number }>(p);
    assertEquals(r.lines, [{ step: 1 }, { step: 2 }]);
    assertEquals(r.tornTail, true);
    assertEquals(r.badLines, []);
  }));

Deno.test("readJsonl() treats an unterminated last line as torn even when it happens to parse", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\n{"step":2}');
    const r = await readJsonl<{ step: number }>(p);
    assertEquals(r.lines, [{ step: 1 }]);
    assertEquals(r.tornTail, true);
  }));

Deno.test("readJsonl() tolerates a torn tail cut inside a multi-byte character", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    const full = new TextEncoder().encode('{"step":1}\n{"note":"é');
    await Deno.writeFile(p, full.subarray(0, full.length - 1));
    const r = await readJsonl(p);
    assertEquals(r.lines, [{ step: 1 }]);
    assertEquals(r.tornTail, true);
  }));

Deno.test("readJsonl() reports a malformed middle line with its line number instead of skipping it silently", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\n{"step":2,,}\n{"step":3}\n');
    const r = await readJsonl<{ step: number }>(p);
    assertEquals(r.lines.map((l) => l.step), [1, 3]);
    assertEquals(r.badLines, [2]);
    assertStringIncludes(r.problems[0], "line 2");
    assertStringIncludes(r.problems[0], p);
  }));

Deno.test("readJsonl() with strict throws on a malformed middle line naming file and line", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\nnot json\n');
    const err = await assertRejects(() => readJsonl(p, { strict: true }), RecordError);
    assertMatch(err.message, /m\.jsonl line 2 is not valid JSON .*"not json"/);
  }));

Deno.test("readJsonl() reports lines that fail the caller's check as bad lines", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\n{"foo":2}\n');
    const check = (v: unknown) =>
      typeof (v as { step?: unknown }).step === "number" ? null : "not a step record";
    const r = await readJsonl(p, { check });
    assertEquals(r.badLines, [2]);
    assertStringIncludes(r.problems[0], "not a step record");
  }));

Deno.test("readJsonl() refuses a binary file as not UTF-8 and a missing file unless missingOk", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeFile(p, new Uint8Array([0xff, 0xfe, 0x00, 0x0a]));
    await assertRejects(() => readJsonl(p), RecordError, "not UTF-8");
    await assertRejects(() => readJsonl(`${dir}/none.jsonl`), RecordError, "does not exist");
    assertEquals((await readJsonl(`${dir}/none.jsonl`, { missingOk: true })).lines, []);
  }));

Deno.test("appendJsonl() after a torn tail starts the new record on its own line", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    await Deno.writeTextFile(p, '{"step":1}\n{"step":2,"lo');
    await appendJsonl(p, { step: 3 });
    const r = await readJsonl<{ step: number }>(p);
    assertEquals(r.lines.map((l) => l.step), [1, 3]);
    assertEquals(r.badLines, [2]);
    assertEquals(r.tornTail, false);
  }));

Deno.test("readJson() distinguishes missing, empty, truncated and foreign files, naming each", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/result.json`;
    let err = await assertRejects(() => readJson(p, "result"), RecordError);
    assertStringIncludes(err.message, `result file ${p} does not exist`);
    await Deno.writeTextFile(p, "");
    err = await assertRejects(() => readJson(p, "result"), RecordError);
    assertStringIncludes(err.message, "is empty");
    await Deno.writeTextFile(p, '{"runId": "abc", "steps": 1');
    err = await assertRejects(() => readJson(p, "result"), RecordError);
    assertStringIncludes(err.message, "looks truncated");
    await Deno.writeTextFile(p, "<html>hello</html>");
    err = await assertRejects(() => readJson(p, "result"), RecordError);
    assertStringIncludes(err.message, 'starts with "<html>');
  }));

Deno.test("truncateJsonlToStep() removes lines after the step and a torn tail, keeping earlier bytes exactly", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/m.jsonl`;
    const head = '{"step":10,"loss":1.5}\n{"step":20,"loss":1.25}\n';
    await Deno.writeTextFile(p, head + '{"step":30,"loss":1}\n{"step":40}\n{"step":50,"lo');
    assertEquals(await truncateJsonlToStep(p, 20), { kept: 2, removed: 2, tornTail: true });
    assertEquals(await Deno.readTextFile(p), head);
    assertEquals(await truncateJsonlToStep(p, 20), { kept: 2, removed: 0, tornTail: false });
    assertEquals(await Deno.readTextFile(p), head);
    assertEquals(await truncateJsonlToStep(`${dir}/missing.jsonl`, 5), {
      kept: 0,
      removed: 0,
      tornTail: false,
    });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["m.jsonl"]);
  }));

Deno.test("truncateJsonlToStep() with drop also removes the matching lines at or before the step", () =>
  withTempDir(async (dir) => {
    const p = `${dir}/e.jsonl`;
    const valid = '{"step":6,"split":"valid"}\n{"step":12,"split":"valid"}\n';
    await Deno.writeTextFile(p, valid + '{"step":12,"split":"test"}\n{"step":14,"split":"valid"}\n');
    const r = await truncateJsonlToStep(p, 12, { drop: (l) => l.split === "test" });
    assertEquals(r, { kept: 2, removed: 2, tornTail: false });
    assertEquals(await Deno.readTextFile(p), valid);
  }));

Deno.test("truncateJsonlToStep() then appending reproduces an uninterrupted file byte for byte", () =>
  withTempDir(async (dir) => {
    const a = `${dir}/a.jsonl`;
    const b = `${dir}/b.jsonl`;
    for (let s = 1; s <= 6; s++) await appendJsonl(a, { step: s, x: s / 3 });
    for (let s = 1; s <= 4; s++) await appendJsonl(b, { step: s, x: s / 3 });
    await Deno.writeTextFile(b, '{"step":5,"x":1.6', { append: true }); // killed mid-write
    await truncateJsonlToStep(b, 3); // resumed from the checkpoint at step 3
    for (let s = 4; s <= 6; s++) await appendJsonl(b, { step: s, x: s / 3 });
    assertEquals(await Deno.readFile(b), await Deno.readFile(a));
  }));

Deno.test("sha256Hex() matches the known digest of 'abc'", async () => {
  assertEquals(await sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});
