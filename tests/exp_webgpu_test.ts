// `exp smoke --backend webgpu` end to end, in-process with the real trainer (the fused WGSL kernels), where a
// WebGPU adapter exists (llvmpipe in CI). The report renderer is left out (it needs a browser).
import { assertEquals, assertStringIncludes } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { webgpuAdapter } from "../lib/backend.ts";
import { EXIT, main } from "../lib/exp/cli.ts";
import { readManifest } from "../lib/record/manifest.ts";

Deno.test({
  name: "exp smoke --backend webgpu trains both cells with the fused kernels and writes the summary",
  ignore: (await webgpuAdapter()) === null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "exp-webgpu-" });
    let stdout = "";
    try {
      const code = await main(
        [
          "smoke",
          "--profile",
          "smoke",
          "--backend",
          "webgpu",
          "--runs-dir",
          `${dir}/runs`,
          "--reports-dir",
          `${dir}/reports`,
        ],
        {
          stdout: (s) => void (stdout += s),
          stderr: () => {},
          isTty: false,
          env: {},
          signal: new AbortController().signal,
          render: false,
        },
      );
      assertEquals(code, EXIT.ok, stdout);
      assertEquals(tf.getBackend(), "webgpu");
      assertStringIncludes(stdout, "smoke (profile smoke): 2 completed");
      for await (const e of Deno.readDir(`${dir}/runs/smoke`)) {
        const m = await readManifest(`${dir}/runs/smoke/${e.name}`);
        assertEquals([m.status, m.environment.backend], ["completed", "webgpu"], e.name);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
