/**
 * Keeps the design of docs/architecture.md: every import in lib/ and experiments/ goes down the layers,
 * no two folders import each other, and neither the configuration layer nor an experiment file reaches
 * tfjs, even through other files.
 */
import { assertEquals } from "@std/assert";
import { importSpecifiers, isTestSupport, resolveSpecifier, ROOT, tsFiles } from "./source.ts";

/**
 * The layers, lowest first: a unit (a folder of lib/, or a single file at its top) may import only units
 * of a lower rank. Units of the same rank are siblings and import neither each other.
 */
export const LAYERS: ReadonlyArray<{ rank: number; layer: string; units: string[] }> = [
  { rank: 0, layer: "utilities", units: ["lib/std", "lib/random.ts", "lib/faults.ts"] },
  { rank: 1, layer: "config", units: ["lib/config"] },
  { rank: 2, layer: "data, kernels", units: ["lib/data", "lib/kernels", "lib/webgpu.ts"] },
  { rank: 3, layer: "backend, record", units: ["lib/backend.ts", "lib/record"] },
  { rank: 4, layer: "model", units: ["lib/draw"] },
  { rank: 5, layer: "eval", units: ["lib/eval"] },
  { rank: 6, layer: "train", units: ["lib/train", "lib/doctor.ts"] },
  { rank: 7, layer: "report", units: ["lib/report"] },
  { rank: 8, layer: "exp", units: ["lib/exp"] },
  { rank: 9, layer: "experiments", units: ["experiments"] },
];

/** Units that must never load tfjs, directly or through the files they import. */
const NO_TFJS = ["lib/config", "experiments"];

/** The unit a root-relative path belongs to: `lib/<folder>`, a top-level `lib/<file>.ts`, or `experiments`. */
export function unitOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "experiments") return "experiments";
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path;
}

/** Import edges between files: from -> [specifier, resolved path or null for a package]. */
export type ImportGraph = Map<string, Array<{ spec: string; to: string | null }>>;

/** Reads every non-test `.ts` file of lib/ and experiments/ into an import graph. */
export function projectGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const f of [...tsFiles("lib"), ...tsFiles("experiments")]) {
    if (isTestSupport(f)) continue;
    const src = Deno.readTextFileSync(`${ROOT}${f}`);
    graph.set(f, importSpecifiers(src).map((spec) => ({ spec, to: resolveSpecifier(f, spec) })));
  }
  return graph;
}

/** Every import that does not go down the layers, and every unit that belongs to no layer. */
export function layerProblems(graph: ImportGraph, layers = LAYERS): string[] {
  const rank = new Map(layers.flatMap((l) => l.units.map((u) => [u, l.rank] as const)));
  const problems: string[] = [];
  for (const [from, edges] of graph) {
    const a = unitOf(from);
    if (!rank.has(a)) problems.push(`${from}: ${a} belongs to no layer (add it to docs/architecture.md)`);
    for (const { to } of edges) {
      if (to === null) continue;
      const b = unitOf(to);
      if (a === b || !rank.has(a) || !rank.has(b)) continue;
      if (rank.get(b)! >= rank.get(a)!) {
        problems.push(
          `${from} imports ${to}: ${b} (rank ${rank.get(b)}) is not below ${a} (rank ${rank.get(a)})`,
        );
      }
    }
  }
  return problems;
}

/** Pairs of units that import each other (directly), as "a <-> b". */
export function circularPairs(graph: ImportGraph): string[] {
  const edges = new Set<string>();
  for (const [from, imports] of graph) {
    for (const { to } of imports) {
      if (to !== null && unitOf(from) !== unitOf(to)) edges.add(`${unitOf(from)} -> ${unitOf(to)}`);
    }
  }
  const pairs = new Set<string>();
  for (const e of edges) {
    const [a, b] = e.split(" -> ");
    if (edges.has(`${b} -> ${a}`)) pairs.add([a, b].sort().join(" <-> "));
  }
  return [...pairs].sort();
}

/** Files of the given units that load tfjs, with the chain of imports that reaches it. */
export function tfjsReach(graph: ImportGraph, units = NO_TFJS): string[] {
  const out: string[] = [];
  for (const start of graph.keys()) {
    if (!units.includes(unitOf(start))) continue;
    const seen = new Map<string, string | null>([[start, null]]);
    const queue = [start];
    while (queue.length) {
      const f = queue.shift()!;
      for (const { spec, to } of graph.get(f) ?? []) {
        if (spec.includes("@tensorflow/")) {
          const chain = [f];
          for (let p = seen.get(f); p; p = seen.get(p)) chain.unshift(p);
          out.push(`${chain.join(" -> ")} -> ${spec}`);
        } else if (to !== null && !seen.has(to)) {
          seen.set(to, f);
          queue.push(to);
        }
      }
    }
  }
  return out;
}

Deno.test("every import in lib/ and experiments/ goes down the layers of docs/architecture.md", () => {
  assertEquals(layerProblems(projectGraph()), []);
});

Deno.test("no two folders of lib/ import each other", () => {
  assertEquals(circularPairs(projectGraph()), []);
});

Deno.test("the configuration layer and the experiment files never load tfjs, even indirectly", () => {
  assertEquals(tfjsReach(projectGraph()), []);
});

Deno.test("docs/architecture.md lists every layer in the order the test enforces", () => {
  const doc = Deno.readTextFileSync(`${ROOT}docs/architecture.md`);
  for (const l of LAYERS) {
    for (const u of l.units) {
      assertEquals(doc.includes(`\`${u}`), true, `docs/architecture.md does not name ${u}`);
    }
  }
});

Deno.test("the layer checks catch an upward import, a circular pair and tfjs reached through a helper", () => {
  const graph: ImportGraph = new Map([
    ["lib/config/a.ts", [{ spec: "./b.ts", to: "lib/config/b.ts" }]],
    ["lib/config/b.ts", [{ spec: "../draw/m.ts", to: "lib/draw/m.ts" }]],
    ["lib/draw/m.ts", [{ spec: "@tensorflow/tfjs", to: null }, {
      spec: "../config/a.ts",
      to: "lib/config/a.ts",
    }]],
    ["lib/nowhere/x.ts", []],
  ]);
  assertEquals(layerProblems(graph), [
    "lib/config/b.ts imports lib/draw/m.ts: lib/draw (rank 4) is not below lib/config (rank 1)",
    "lib/nowhere/x.ts: lib/nowhere belongs to no layer (add it to docs/architecture.md)",
  ]);
  assertEquals(circularPairs(graph), ["lib/config <-> lib/draw"]);
  assertEquals(tfjsReach(graph), [
    "lib/config/a.ts -> lib/config/b.ts -> lib/draw/m.ts -> @tensorflow/tfjs",
    "lib/config/b.ts -> lib/draw/m.ts -> @tensorflow/tfjs",
  ]);
});
