/**
 * Static checks of a generated page, without a browser: nothing is fetched from the network, every PNG
 * data URI decodes, every chart holds a non-empty SVG and no chart reported a problem. The browser check
 * (lib/report/browser_check.ts) covers what only a browser can see.
 * @module
 */
import { decode, decodeApng } from "fast-png";

const NETWORK_ATTR =
  /\s(src|href|srcset|action|poster|data|formaction|xlink:href)\s*=\s*["']?\s*(https?:|\/\/|ftp:|ws:|wss:)/gi;
const CSS_NETWORK = /(url\(\s*["']?\s*(https?:|\/\/))|@import/gi;

/** The base64 payload of every `data:image/png` URI in `src` attributes. */
export function pngDataUris(html: string): string[] {
  return [...html.matchAll(/\ssrc="data:image\/png;base64,([^"]*)"/g)].map((m) => m[1]);
}

function b64decode(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Lists what is wrong with a report page (empty when nothing is).
 * @example
 * ```ts
 * staticReportProblems('<img src="https://example.com/a.png">'); // ["network reference: src=\"https:…"]
 * ```
 */
export function staticReportProblems(html: string): string[] {
  const problems: string[] = [];
  for (const m of html.matchAll(NETWORK_ATTR)) {
    problems.push(`network reference: ${m[0].trim().slice(0, 80)}`);
  }
  for (const m of html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)) {
    for (const c of m[1].matchAll(CSS_NETWORK)) problems.push(`network reference in CSS: ${c[0]}`);
  }
  for (const m of html.matchAll(/<script\b[^>]*\ssrc=/gi)) problems.push(`external script: ${m[0]}`);
  pngDataUris(html).forEach((b64, i) => {
    try {
      const bytes = b64decode(b64);
      const png = decode(bytes);
      if (!(png.width > 0 && png.height > 0)) problems.push(`image ${i + 1} has no pixels`);
      if (bytes.length > 40) {
        const ap = decodeApng(bytes);
        if (ap.numberOfFrames > 1 && ap.frames.length !== ap.numberOfFrames) {
          problems.push(`animated image ${i + 1} has ${ap.frames.length} of ${ap.numberOfFrames} frames`);
        }
      }
    } catch (e) {
      problems.push(`image ${i + 1} does not decode: ${(e as Error).message}`);
    }
  });
  if (/\ssrc="data:image\/(?!png;base64,)/.test(html)) problems.push("an image data URI is not a base64 PNG");
  for (const m of html.matchAll(/<figure class="chart" id="([^"]+)">([\s\S]*?)<\/figure>/g)) {
    const [, id, body] = m;
    const svg = /<svg[\s\S]*?<\/svg>/.exec(body)?.[0];
    if (!svg) problems.push(`${id}: no SVG`);
    else if (/NaN/.test(svg)) problems.push(`${id}: the SVG contains NaN (an empty or broken scale)`);
    else if (!/class="mark-[a-z]+ role-mark[^"]*"[^>]*>\s*<(path|line|text|rect|g)\b/.test(svg)) {
      problems.push(`${id}: the SVG draws no marks`);
    }
    if (/class="chart-warning"/.test(body)) problems.push(`${id}: the chart reported a problem`);
  }
  return problems;
}
