/**
 * Reading the project's own TypeScript as text, for the tests that keep its structure: the files of a
 * folder, their comments blanked out, and the relative and package imports each one makes.
 * @module
 */

/** The repository root (this file is tests/source.ts). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** Test files and the helpers only tests import; the layer and length rules do not apply to them. */
export function isTestSupport(path: string): boolean {
  return /_test\.ts$/.test(path) || /(^|\/)(testing|testdata)\//.test(path) ||
    /(^|\/)(testing|testutil|test_util|test_values)\.ts$/.test(path);
}

/** Every `.ts` file below `dir` (relative to the root), as root-relative paths, sorted. */
export function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${d}`)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.isFile && p.endsWith(".ts")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The source with comments replaced by spaces (line breaks kept, so line numbers stay right). Strings,
 * template literals and regular expression literals are kept as they are.
 */
export function blankComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      const stop = stringEnd(src, i);
      out += src.slice(i, stop);
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The index just after the string literal opening at `start` (template literals may span lines). */
export function stringEnd(src: string, start: number): number {
  const quote = src[start];
  let i = start + 1;
  while (i < src.length && src[i] !== quote) {
    if (src[i] === "\\") i++;
    else if (quote !== "`" && src[i] === "\n") return i;
    i++;
  }
  return i + 1;
}

/** The module specifiers a source imports or re-exports (static and dynamic), in order. */
export function importSpecifiers(src: string): string[] {
  const code = blankComments(src);
  const specs: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g)) specs.push(m[1]);
  for (const m of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]);
  for (const m of code.matchAll(/(?:^|[\n;])\s*import\s*["']([^"']+)["']/g)) specs.push(m[1]);
  return specs;
}

/** Resolves a relative specifier of `from` (root-relative) to a root-relative path; null for packages. */
export function resolveSpecifier(from: string, spec: string): string | null {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return null;
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}
