import { assertEquals } from "@std/assert";
import { FUSED_KERNELS } from "./dispatch.ts";
import { KERNEL_DEFS } from "./reference.ts";

Deno.test("every fused kernel's JS reference is paired with a C twin, and the dispatch names no other", () => {
  assertEquals(Object.keys(FUSED_KERNELS).sort(), Object.keys(KERNEL_DEFS).sort());
  for (const [name, k] of Object.entries(FUSED_KERNELS)) {
    assertEquals(k.reference, KERNEL_DEFS[name], name);
    assertEquals(typeof k.wasm, "function", name);
  }
});
