/**
 * The DRAW model: config, attention, loss, parameters and the recurrence.
 * @module
 */
export * from "../config/model.ts";
export * from "./attention.ts";
export * from "./loss.ts";
export * from "./lstm.ts";
export * from "./params.ts";
export * from "./model.ts";
