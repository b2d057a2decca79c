/**
 * Loads every C implementation of the fused kernels (each file registers its own with lib/wasm/registry.ts).
 * @module
 */
export { implsDisabled, WASM_IMPLS } from "./registry.ts";
import "./lstm.ts";
import "./attention.ts";
import "./adam.ts";
import "./misc.ts";
