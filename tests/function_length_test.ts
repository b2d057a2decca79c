/**
 * Keeps lib/ readable top to bottom: no function (declaration, method or arrow function with a block body)
 * longer than {@linkcode MAX_FUNCTION_LINES} lines, generated code and tests aside.
 *
 * The measure reads formatted source (`deno fmt`): a function runs from the line that opens it to the first
 * later line at its indentation that closes it (`}`, `};`, `});`), so a long signature counts too.
 */
import { assertEquals } from "@std/assert";
import { blankComments, isTestSupport, ROOT, tsFiles } from "./source.ts";

/** The longest a function of lib/ may be, in lines. */
export const MAX_FUNCTION_LINES = 120;

/** One function and its length. */
export interface FunctionSpan {
  file: string;
  /** 1-based line of its first line. */
  line: number;
  name: string;
  lines: number;
}

const KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "with", "return", "else", "do", "try"]);
const METHOD =
  /^(?:(?:async|static|get|set|private|public|protected|override|readonly)\s+)*\*?([\w$]+)\s*(?:<.*>)?\(/;

/** The name of the function a line opens, or null when it opens none. */
function opens(code: string): string | null {
  const t = code.trim();
  if (!/[{(]$/.test(t)) return null;
  const fn = /\bfunction\b\s*\*?\s*([\w$]*)/.exec(t);
  if (fn) return fn[1] || "(anonymous function)";
  if (/=>\s*\{$/.test(t) || /=\s*(?:async\s*)?\($/.test(t)) {
    const named = /(?:const|let|var)\s+([\w$]+)|([\w$]+)\s*:/.exec(t);
    return named ? (named[1] ?? named[2]) : "(arrow function)";
  }
  const m = METHOD.exec(t);
  const signature = /\)\s*(?::[^=]*)?\{$/.test(t) || t.endsWith("(");
  if (
    m && signature && !KEYWORDS.has(m[1]) && !/^(?:new|await|throw|yield|typeof)\b/.test(t) && !/[=;]/.test(t)
  ) {
    return m[1];
  }
  return null;
}

const indentOf = (s: string) => s.length - s.trimStart().length;

/** Every function of a source and its length in lines. */
export function functionSpans(file: string, src: string): FunctionSpan[] {
  const lines = blankComments(src).split("\n");
  const out: FunctionSpan[] = [];
  for (let i = 0; i < lines.length; i++) {
    const name = opens(lines[i]);
    if (name === null) continue;
    const indent = indentOf(lines[i]);
    let end = -1;
    for (let j = i + 1; j < lines.length; j++) {
      const t = lines[j].trim();
      if (t === "") continue;
      const d = indentOf(lines[j]);
      if (d > indent) continue;
      if (d === indent && t.startsWith(")")) continue; // the end of a long signature
      if (d === indent && t.startsWith("}")) end = j;
      break;
    }
    if (end > i) out.push({ file, line: i + 1, name, lines: end - i + 1 });
  }
  return out;
}

/** True for generated files (they say so in their first line). */
function generated(src: string): boolean {
  return /^\/\/ Generated\b/.test(src);
}

/** Functions of lib/ (tests and generated code aside) longer than `max` lines, as "file:line name (n lines)". */
export function longFunctions(max = MAX_FUNCTION_LINES): string[] {
  const out: string[] = [];
  for (const f of tsFiles("lib")) {
    if (isTestSupport(f)) continue;
    const src = Deno.readTextFileSync(`${ROOT}${f}`);
    if (generated(src)) continue;
    for (const s of functionSpans(f, src)) {
      if (s.lines > max) out.push(`${s.file}:${s.line} ${s.name} (${s.lines} lines)`);
    }
  }
  return out;
}

if (import.meta.main) {
  const max = Number(Deno.args[0] ?? MAX_FUNCTION_LINES);
  for (const l of longFunctions(max)) console.log(l);
}

Deno.test(`no function in lib/ is longer than ${MAX_FUNCTION_LINES} lines (tests and generated code aside)`, () => {
  assertEquals(longFunctions(), []);
});

Deno.test("the function measure counts declarations, methods and arrow functions to their closing line", () => {
  const src = [
    "export async function load(", //  1
    "  path: string,", //              2
    "): Promise<{ a: number }> {", //  3
    "  if (path) {", //                4
    "    return { a: 1 };", //         5
    "  }", //                          6
    "  return { a: 2 };", //           7
    "}", //                            8
    "const f = (x: number) => {", //   9
    "  return x;", //                 10
    "};", //                          11
    "class C {", //                   12
    "  static make(n: number): C {", // 13
    "    return new C();", //         14
    "  }", //                         15
    "}", //                           16
  ].join("\n");
  assertEquals(functionSpans("x.ts", src).map((s) => [s.name, s.line, s.lines]), [
    ["load", 1, 8],
    ["f", 9, 3],
    ["make", 13, 3],
  ]);
});
