import { assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { MODEL_PRESETS } from "./model.ts";
import { DEFAULT_TRAIN, type RunConfig } from "./run.ts";
import { canonicalJson, cellLabel, runIdFor, valueLabel } from "./runid.ts";

function config(seed = 1): RunConfig {
  return { model: { ...MODEL_PRESETS.paper }, train: { ...DEFAULT_TRAIN, budget: { epochs: 1 } }, seed };
}

Deno.test("canonicalJson() sorts keys at every level and drops undefined members", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }),
    '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
  );
  assertEquals(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

const reverseKeys = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;

Deno.test("runIdFor() gives the same id for the same config and seed, whatever the key order", () => {
  const a = config();
  const b: RunConfig = { seed: 1, train: reverseKeys(a.train), model: reverseKeys(a.model) };
  assertEquals(JSON.stringify(a) === JSON.stringify(b), false);
  assertEquals(runIdFor({ attention: true }, a), runIdFor({ attention: true }, b));
  assertEquals(runIdFor({ attention: true }, a), runIdFor({ attention: true }, config()));
  assertMatch(runIdFor({ attention: false }, a), /^attention=false-s1-[0-9a-f]{12}$/);
});

Deno.test("runIdFor() changes when any single setting or the seed changes", () => {
  const base = config();
  const id = runIdFor({}, base);
  const ids = new Set([id]);
  for (const k of Object.keys(base.model) as Array<keyof RunConfig["model"]>) {
    const v = base.model[k];
    const changed = typeof v === "number"
      ? v + 1
      : typeof v === "boolean"
      ? !v
      : v === "cover"
      ? "zero"
      : "cover";
    ids.add(runIdFor({}, { ...base, model: { ...base.model, [k]: changed } }));
  }
  for (const k of Object.keys(base.train) as Array<keyof RunConfig["train"]>) {
    const v = base.train[k];
    const changed = typeof v === "number"
      ? v * 2 + 1
      : typeof v === "boolean"
      ? !v
      : typeof v === "string"
      ? `${v}-other`
      : { epochs: 2 };
    ids.add(runIdFor({}, { ...base, train: { ...base.train, [k]: changed } }));
  }
  ids.add(runIdFor({}, config(2)));
  const settings = Object.keys(base.model).length + Object.keys(base.train).length + 1;
  assertEquals(ids.size, settings + 1);
});

Deno.test("runIdFor() separates runs on the fixtures from runs on the full data", () => {
  const full = runIdFor({ attention: true }, config());
  const fx = runIdFor({ attention: true }, config(), "fixtures");
  assertNotEquals(full.slice(-12), fx.slice(-12));
  assertMatch(fx, /^fx-attention=true-s1-[0-9a-f]{12}$/);
});

Deno.test("runIdFor() keeps the readable prefix short and free of path characters", () => {
  const id = runIdFor({ dataset: "../../etc/passwd", grid: { readN: 12, writeN: 12 } }, config(7));
  assertEquals(id.includes("/"), false);
  assertMatch(id, /^dataset=.._.._etc_passwd-grid=12x12-s7-[0-9a-f]{12}$/);
  const long = runIdFor({ a: "x".repeat(200) }, config());
  assertEquals(long.length, 48 + 1 + 12);
});

Deno.test("valueLabel() and cellLabel() name bundles by their values", () => {
  assertEquals(valueLabel({ readN: 5, writeN: 2 }), "5x2");
  assertEquals(valueLabel(0.001), "0.001");
  assertEquals(cellLabel({ attention: false, grid: { readN: 2, writeN: 2 } }), "attention=false,grid=2x2");
  assertEquals(cellLabel({}), "base");
});
