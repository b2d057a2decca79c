// Every `deno task` that runs a redraw program answers --help with its usage on stdout and exit status 0,
// under its own permission set, and does nothing else.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { childEnv } from "../faults/harness.ts";

const root = new URL("../../", import.meta.url).pathname;
const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks;
const programs = Object.entries(tasks).filter(([, command]) => command.startsWith("deno run "));

Deno.test(`each of the ${programs.length} program tasks prints its usage for --help and exits 0`, async () => {
  assertEquals(programs.length >= 7, true, Object.keys(tasks).join(", "));
  for (const [name, command] of programs) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...command.split(" ").slice(1), "--help"],
      cwd: root,
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(
      out.code,
      0,
      `deno task ${name} --help exited ${out.code}\n${new TextDecoder().decode(out.stderr)}`,
    );
    assertStringIncludes(stdout, `deno task ${name}`, `deno task ${name} --help`);
  }
});
