/**
 * Mini-batches for training (shuffled, resumable) and evaluation (fixed order), as n x 784 Float32Arrays.
 *
 * Randomness comes only from the run's named streams: the `dataOrder` stream draws one permutation per epoch,
 * and for dynamically binarized MNIST the `binarize` stream draws a fresh Bernoulli sample of every image
 * each time it is served. Both are counter-based, so a batcher's state is a few numbers and a resumed run
 * serves exactly the batches the uninterrupted run would have.
 * @module
 */
import { RandomStream, type StreamState } from "../random.ts";
import type { Binarize } from "./load.ts";
import { PIXELS } from "./load.ts";

/** What a batcher reads: a loaded `Dataset` or anything shaped like one. */
export interface BatchSource {
  /** n x 784 values in [0, 1]. */
  images: Float32Array;
  /** Number of images. */
  n: number;
  /** Optional labels, carried into batches. */
  labels?: Uint8Array;
  /** `dynamic` makes the batcher sample a binarization of each image it serves. */
  binarize?: Binarize;
}

/** Options of {@linkcode Batcher}. */
export interface BatcherOptions {
  /** Images per batch. */
  batchSize: number;
  /** Drop the last partial batch of each epoch (default true) or serve it. */
  dropLast?: boolean;
  /** The run's `dataOrder` stream; the batcher advances it by one permutation per epoch. */
  order: RandomStream;
  /** The run's `binarize` stream; required when the source's binarization is `dynamic`. */
  binarize?: RandomStream;
}

/** One training batch. */
export interface Batch {
  /** n x 784 values, a fresh array the caller owns. */
  images: Float32Array;
  /** Images in this batch. */
  n: number;
  /** Labels of the batch's images, when the source has labels. */
  labels?: Uint8Array;
  /** Row of each image in the source. */
  indices: Int32Array;
  /** Epoch this batch belongs to (from 0). */
  epoch: number;
  /** Index of this batch within its epoch (from 0). */
  batchInEpoch: number;
  /** Whether this batch ends its epoch. */
  lastInEpoch: boolean;
}

/** A batcher's serialisable position, for checkpoints. JSON-safe. */
export interface BatcherState {
  /** Source size (checked on restore). */
  n: number;
  /** Batch size (checked on restore). */
  batchSize: number;
  /** Partial-batch policy (checked on restore). */
  dropLast: boolean;
  /** Epochs completed: the epoch of the next batch. */
  epoch: number;
  /** Position of the next batch in the epoch's permutation. */
  indexInEpoch: number;
  /** Index of the next batch within its epoch. */
  batchInEpoch: number;
  /** Images served so far, over all epochs. */
  imagesSeen: number;
  /** Batches served so far, over all epochs. */
  batchesSeen: number;
  /** The `dataOrder` state the current epoch's permutation was drawn from (null: not drawn yet). */
  epochOrder: StreamState | null;
  /** Current `dataOrder` stream state. */
  order: StreamState;
  /** Current `binarize` stream state (null when the batcher has no binarize stream). */
  binarize: StreamState | null;
}

function checkInt(v: unknown, what: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Replaces each value p in `values` with a Bernoulli(p) sample drawn from `stream` (one draw per value). */
export function sampleBernoulli(values: Float32Array, stream: RandomStream): void {
  for (let i = 0; i < values.length; i++) values[i] = stream.nextUniform() < values[i] ? 1 : 0;
}

/**
 * Shuffled training batches with exact epoch accounting.
 * @example
 * ```ts
 * import { loadDataset } from "./load.ts";
 * import { splitSeed } from "../random.ts";
 * const train = await loadDataset("binarized-mnist", "train", { fixtures: true });
 * const streams = splitSeed(1);
 * const b = new Batcher(train, { batchSize: 64, order: streams.dataOrder, binarize: streams.binarize });
 * const batch = b.next();          // { images: Float32Array(64 * 784), epoch: 0, ... }
 * const saved = b.state();         // store in the checkpoint
 * b.restore(saved);                // later, on a fresh Batcher over the same data
 * ```
 */
export class Batcher {
  /** Images per batch. */
  readonly batchSize: number;
  /** Whether the last partial batch of an epoch is dropped. */
  readonly dropLast: boolean;
  #order: RandomStream;
  #binarize: RandomStream | null;
  #perm: Int32Array | null = null;
  #epochOrder: StreamState | null = null;
  #epoch = 0;
  #index = 0;
  #batchInEpoch = 0;
  #imagesSeen = 0;
  #batchesSeen = 0;

  /** A batcher at the start of epoch 0; call {@linkcode Batcher.restore} to resume instead. */
  constructor(readonly source: BatchSource, options: BatcherOptions) {
    checkInt(source.n, "Dataset size", 1);
    if (source.images.length !== source.n * PIXELS) {
      throw new RangeError(
        `Dataset images hold ${source.images.length} values, expected ${source.n} x ${PIXELS}`,
      );
    }
    this.batchSize = checkInt(options.batchSize, "batchSize", 1);
    this.dropLast = options.dropLast ?? true;
    if (this.dropLast && this.batchSize > source.n) {
      throw new RangeError(
        `batchSize ${this.batchSize} exceeds the ${source.n} images of the dataset, so dropping the last ` +
          `partial batch would leave no batches; use a smaller batch or dropLast false`,
      );
    }
    this.#order = options.order;
    this.#binarize = options.binarize ?? null;
    if (source.binarize === "dynamic" && !this.#binarize) {
      throw new Error(`A dynamically binarized dataset needs the "binarize" random stream`);
    }
  }

  /** Batches per epoch under the dropLast policy. */
  get batchesPerEpoch(): number {
    return this.dropLast
      ? Math.floor(this.source.n / this.batchSize)
      : Math.ceil(this.source.n / this.batchSize);
  }

  /** Epochs completed (the epoch of the next batch). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Images served so far, over all epochs. */
  get imagesSeen(): number {
    return this.#imagesSeen;
  }

  /** Batches served so far, over all epochs. */
  get batchesSeen(): number {
    return this.#batchesSeen;
  }

  /** The next batch; starts a new epoch (a new permutation) when the previous one is done. */
  next(): Batch {
    const { n, images, labels } = this.source;
    if (this.#perm === null) {
      this.#epochOrder = this.#order.state();
      this.#perm = this.#order.permutation(n);
    }
    const perm = this.#perm;
    const start = this.#index;
    const end = Math.min(n, start + this.batchSize);
    const size = end - start;
    const out = new Float32Array(size * PIXELS);
    const indices = perm.slice(start, end);
    for (let r = 0; r < size; r++) {
      const row = indices[r] * PIXELS;
      out.set(images.subarray(row, row + PIXELS), r * PIXELS);
    }
    if (this.source.binarize === "dynamic") sampleBernoulli(out, this.#binarize!);
    let batchLabels: Uint8Array | undefined;
    if (labels) {
      batchLabels = new Uint8Array(size);
      for (let r = 0; r < size; r++) batchLabels[r] = labels[indices[r]];
    }
    const batch: Batch = {
      images: out,
      n: size,
      indices,
      epoch: this.#epoch,
      batchInEpoch: this.#batchInEpoch,
      lastInEpoch: false,
    };
    if (batchLabels) batch.labels = batchLabels;
    this.#index = end;
    this.#batchInEpoch++;
    this.#imagesSeen += size;
    this.#batchesSeen++;
    const left = n - end;
    if (left === 0 || (this.dropLast && left < this.batchSize)) {
      batch.lastInEpoch = true;
      this.#epoch++;
      this.#index = 0;
      this.#batchInEpoch = 0;
      this.#perm = null;
      this.#epochOrder = null;
    }
    return batch;
  }

  /** The position to store in a checkpoint (a JSON-safe copy). */
  state(): BatcherState {
    return {
      n: this.source.n,
      batchSize: this.batchSize,
      dropLast: this.dropLast,
      epoch: this.#epoch,
      indexInEpoch: this.#index,
      batchInEpoch: this.#batchInEpoch,
      imagesSeen: this.#imagesSeen,
      batchesSeen: this.#batchesSeen,
      epochOrder: this.#epochOrder ? { ...this.#epochOrder } : null,
      order: this.#order.state(),
      binarize: this.#binarize?.state() ?? null,
    };
  }

  /**
   * Moves to a saved position: re-derives the epoch's permutation from the state recorded at epoch start,
   * and sets the given streams' counters to the saved ones.
   * @throws {Error} if the state is for another dataset size, batch size, policy or seed
   */
  restore(state: BatcherState): void {
    const s = state;
    if (s.n !== this.source.n || s.batchSize !== this.batchSize || s.dropLast !== this.dropLast) {
      throw new Error(
        `Batcher state is for ${s.n} images in batches of ${s.batchSize} (dropLast ${s.dropLast}), but this ` +
          `batcher has ${this.source.n} images in batches of ${this.batchSize} (dropLast ${this.dropLast})`,
      );
    }
    checkInt(s.epoch, "Batcher state epoch", 0);
    checkInt(s.indexInEpoch, "Batcher state indexInEpoch", 0);
    checkInt(s.batchInEpoch, "Batcher state batchInEpoch", 0);
    checkInt(s.imagesSeen, "Batcher state imagesSeen", 0);
    checkInt(s.batchesSeen, "Batcher state batchesSeen", 0);
    if (s.indexInEpoch >= s.n || (s.indexInEpoch > 0) !== (s.epochOrder !== null)) {
      throw new Error(
        `Batcher state indexInEpoch ${s.indexInEpoch} does not fit ${s.n} images with epochOrder ` +
          `${JSON.stringify(s.epochOrder)}`,
      );
    }
    checkStream(s.order, this.#order, "order");
    if (this.source.binarize === "dynamic") {
      if (!s.binarize) throw new Error(`Batcher state has no "binarize" stream, which this dataset needs`);
      checkStream(s.binarize, this.#binarize!, "binarize");
    }
    if (s.epochOrder) checkStream(s.epochOrder, this.#order, "epochOrder");
    this.#order.counter = s.order.counter;
    if (this.#binarize && s.binarize) this.#binarize.counter = s.binarize.counter;
    this.#epochOrder = s.epochOrder ? { ...s.epochOrder } : null;
    this.#perm = s.epochOrder ? RandomStream.fromState(s.epochOrder).permutation(s.n) : null;
    this.#epoch = s.epoch;
    this.#index = s.indexInEpoch;
    this.#batchInEpoch = s.batchInEpoch;
    this.#imagesSeen = s.imagesSeen;
    this.#batchesSeen = s.batchesSeen;
  }
}

function checkStream(saved: StreamState, live: RandomStream, what: string): void {
  if (!saved || typeof saved.counter !== "number" || !Number.isInteger(saved.counter) || saved.counter < 0) {
    throw new Error(`Batcher state ${what} stream is malformed: ${JSON.stringify(saved)}`);
  }
  if (saved.seed !== live.seed) {
    throw new Error(
      `Batcher state ${what} stream has seed ${saved.seed}, but the given stream has seed ${live.seed} ` +
        `(a different root seed?)`,
    );
  }
}

/** One evaluation batch. */
export interface EvalBatch {
  /** n x 784 values, a fresh array the caller owns. */
  images: Float32Array;
  /** Images in this batch. */
  n: number;
  /** Labels of the batch's images, when the source has labels. */
  labels?: Uint8Array;
  /** Row of the first image in the source. */
  start: number;
}

/**
 * Batches over a dataset in its fixed order; the last batch holds the remainder, so every image is seen
 * once. A dynamically binarized dataset needs a stream: pass a fresh stream in the same state (e.g. from
 * the run's `eval` seed) to evaluate every time on the same binarization.
 * @example
 * ```ts
 * import { loadDataset } from "./load.ts";
 * const test = await loadDataset("binarized-mnist", "test", { fixtures: true });
 * let images = 0;
 * for (const b of evalBatches(test, 500)) images += b.n;
 * images === test.n; // true: every image once, the last batch short
 * ```
 */
export function evalBatches(
  source: BatchSource,
  batchSize: number,
  options: { binarize?: RandomStream } = {},
): Generator<EvalBatch> {
  checkInt(batchSize, "batchSize", 1);
  if (source.binarize === "dynamic" && !options.binarize) {
    throw new Error(
      `evalBatches() needs a binarize stream for a dynamically binarized dataset (for example a fresh ` +
        `stream from the run's "eval" seed, so each evaluation sees the same sample)`,
    );
  }
  return fixedOrder(source, batchSize, source.binarize === "dynamic" ? options.binarize! : null);
}

function* fixedOrder(
  source: BatchSource,
  batchSize: number,
  stream: RandomStream | null,
): Generator<EvalBatch> {
  for (let start = 0; start < source.n; start += batchSize) {
    const end = Math.min(source.n, start + batchSize);
    const images = source.images.slice(start * PIXELS, end * PIXELS);
    if (stream) sampleBernoulli(images, stream);
    const batch: EvalBatch = { images, n: end - start, start };
    if (source.labels) batch.labels = source.labels.slice(start, end);
    yield batch;
  }
}
