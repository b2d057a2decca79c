import { assertAlmostEquals, assertEquals } from "@std/assert";
import { esc, escText, fmtSigned, jsonForScript } from "./escape.ts";
import { quantile, spread, thin } from "./stats.ts";

Deno.test("thin() keeps at most max points, the first and the last, in order", () => {
  const xs = Array.from({ length: 100_001 }, (_, i) => i);
  const t = thin(xs, 2000);
  assertEquals(t.length, 2000);
  assertEquals(t[0], 0);
  assertEquals(t.at(-1), 100_000);
  assertEquals(t.every((x, i) => i === 0 || x > t[i - 1]), true);
  assertEquals(thin([1, 2, 3], 2000), [1, 2, 3]);
});

Deno.test("spread() gives the sample standard deviation over seeds and ignores non-finite values", () => {
  const s = spread([95.31, 95.87, NaN])!;
  assertEquals(s.n, 2);
  assertAlmostEquals(s.mean, 95.59, 1e-9);
  assertAlmostEquals(s.std, Math.abs(95.87 - 95.31) / Math.SQRT2, 1e-9);
  assertEquals(spread([7])!.std, 0);
  assertEquals(spread([]), null);
});

Deno.test("quantile() interpolates between order statistics", () => {
  assertEquals(quantile([4, 1, 3, 2], 0.5), 2.5);
  assertEquals(quantile([1, 2, 3], 1), 3);
});

Deno.test("esc() neutralises every character that could open markup or end an attribute", () => {
  assertEquals(
    esc(`<script>alert("x")</script> & 'y'`),
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;",
  );
  assertEquals(jsonForScript({ a: "</script><b>" }).includes("<"), false);
  assertEquals(escText(`{"a": "<b>&"}`), `{"a": "&lt;b&gt;&amp;"}`);
});

Deno.test("fmtSigned() shows the sign", () => {
  assertEquals(fmtSigned(14.62), "+14.62");
  assertEquals(fmtSigned(-0.4), "−0.40");
});
