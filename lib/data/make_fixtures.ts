/**
 * Cuts the committed test fixtures (tests/fixtures/data) from the real data files, and prints their pinned
 * hashes for `FIXTURE_FILES` in sources.ts. Run it only when the fixtures must change:
 *
 * ```sh
 * deno run -R -W lib/data/make_fixtures.ts DIR   # DIR holds the full binarized_mnist/ and mnist/ files
 * ```
 *
 * Fixtures: the first 256 rows of each binarized MNIST split (`.amat.gz`), and the first 256 images and labels
 * of the MNIST train and test IDX files (`.gz`, with the item count in the header set to 256).
 * @module
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fixturesDir } from "./datadir.ts";
import { AMAT_ROW_BYTES } from "./amat.ts";
import { IMAGE_BYTES } from "./idx.ts";
import { FIXTURE_ROWS } from "./sources.ts";

/** The fixture content cut from one decompressed source file. */
export function cutFixture(kind: "amat" | "idx-images" | "idx-labels", content: Uint8Array): Uint8Array {
  if (kind === "amat") return content.slice(0, FIXTURE_ROWS * AMAT_ROW_BYTES);
  const header = kind === "idx-images" ? 16 : 8;
  const item = kind === "idx-images" ? IMAGE_BYTES : 1;
  const out = content.slice(0, header + FIXTURE_ROWS * item);
  new DataView(out.buffer).setUint32(4, FIXTURE_ROWS);
  return out;
}

async function main(src: string): Promise<void> {
  const out = fixturesDir();
  const jobs: [string, string, "amat" | "idx-images" | "idx-labels"][] = [
    ["binarized_mnist", "binarized_mnist_train.amat", "amat"],
    ["binarized_mnist", "binarized_mnist_valid.amat", "amat"],
    ["binarized_mnist", "binarized_mnist_test.amat", "amat"],
    ["mnist", "train-images-idx3-ubyte", "idx-images"],
    ["mnist", "train-labels-idx1-ubyte", "idx-labels"],
    ["mnist", "t10k-images-idx3-ubyte", "idx-images"],
    ["mnist", "t10k-labels-idx1-ubyte", "idx-labels"],
  ];
  for (const [sub, name, kind] of jobs) {
    const content = gunzipSync(await Deno.readFile(join(src, sub, `${name}.gz`)));
    const cut = cutFixture(kind, new Uint8Array(content.buffer, content.byteOffset, content.length));
    await Deno.mkdir(join(out, sub), { recursive: true });
    await Deno.writeFile(join(out, sub, `${name}.gz`), gzipSync(cut, { level: 9 }));
    const sha = createHash("sha256").update(cut).digest("hex");
    console.log(`${name}\t${sha}\t${cut.length} bytes`);
  }
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error(
      "Usage: deno run -R -W lib/data/make_fixtures.ts <data dir holding mnist/ and binarized_mnist/>",
    );
    Deno.exit(2);
  }
  await main(Deno.args[0]);
}
