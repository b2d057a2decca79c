// Strings holding HTML and JavaScript, from an experiment file (description, paper target row) and from run
// records (manifest notes, reason, command), reach the HTML report only as text: no new tag, attribute or
// script appears, and the report keeps exactly the scripts a clean one has.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { assertExit, runCli, smoke, withProject } from "../faults/harness.ts";

const PAYLOADS = [
  `</script><script>alert("xss-1")</script>`,
  `<img src=x onerror=alert("xss-2")>`,
  `"><svg onload=alert("xss-3")>`,
  `javascript:alert("xss-4")`,
  `</style><style>*{display:none}</style>`,
  `{{constructor.constructor('alert("xss-5")')()}}`,
];

const EXPERIMENT = `import { SMOKE_PROFILE } from "../lib/exp/define.ts";
const payloads = ${JSON.stringify(PAYLOADS)};
export default {
  name: "xss",
  description: payloads.join(" "),
  base: { preset: "paper" },
  factors: { attention: [true, false] },
  seeds: [1],
  profiles: { smoke: SMOKE_PROFILE, quick: SMOKE_PROFILE, paper: SMOKE_PROFILE },
  paperTargets: () => ({ row: payloads[0] + payloads[1], nats: 80 }),
};
`;

/**
 * What could make a page run code or change its structure, counted over the page's real tags (text is
 * escaped and has no "<"); quoted attribute values are blanked first, since escaped quotes cannot end them.
 */
function dangers(html: string) {
  const tags = (html.match(/<[a-zA-Z][^<>]*>/g) ?? []).map((t) => t.replace(/"[^"]*"|'[^']*'/g, '""'));
  const count = (re: RegExp) => tags.filter((t) => re.test(t)).length;
  return {
    scripts: count(/^<script\b/i),
    styles: count(/^<style\b/i),
    handlers: count(/\son[a-z]+\s*=/i),
    jsLinks: (html.match(/(href|src)\s*=\s*["']?\s*javascript:/gi) ?? []).length,
    images: count(/^<img\b/i),
    svgs: count(/^<svg\b/i),
  };
}

Deno.test("report strings holding HTML/JS from an experiment file and from run records are rendered as text", () =>
  withProject(async (p) => {
    assertExit(await smoke(p), 0, "the clean smoke run");
    const clean = dangers(await Deno.readTextFile(`${p.reports}/smoke.html`));

    await Deno.mkdir(`${p.dir}/hostile`);
    await Deno.writeTextFile(`${p.dir}/hostile/xss.ts`, EXPERIMENT);
    assertExit(
      await runCli(p.dir, "exp", ["hostile/xss.ts", "--profile", "smoke"]),
      0,
      "exp on the hostile experiment",
    );
    let html = await Deno.readTextFile(`${p.reports}/xss.html`);
    assertStringIncludes(html, "xss-1", "the description is shown");
    assertEquals(dangers(html), clean, "the experiment's strings changed the page's structure");

    // Now the records themselves: notes, reason and command of every run.
    for await (const e of Deno.readDir(`${p.runs}/xss`)) {
      const path = `${p.runs}/xss/${e.name}/manifest.json`;
      const m = JSON.parse(await Deno.readTextFile(path));
      m.notes = [...PAYLOADS];
      m.reason = PAYLOADS.join(" ");
      m.command = PAYLOADS[1];
      await Deno.writeTextFile(path, JSON.stringify(m, null, 2));
    }
    const r = await runCli(p.dir, "report", ["xss", "--experiments-dir", "hostile"]);
    assertEquals(r.code, 0, r.stderr);
    html = await Deno.readTextFile(`${p.reports}/xss.html`);
    assertEquals(dangers(html), clean, "strings from the records changed the page's structure");
    for (const s of PAYLOADS.slice(0, 3)) assert(!html.includes(s), `the raw string ${s} is in the page`);
    const index = await Deno.readTextFile(`${p.reports}/index.html`);
    assertEquals(dangers(index).scripts, 0, "the index page has no script");
    assertEquals(dangers(index).handlers, 0);
  }));
