// A dataset read a batch at a time with bounded memory: shards are fetched on
// demand, the next ones while the current window is consumed (prefetch), in
// the seeded block-shuffled order of order.ts. Resident at once: one window of
// shards, the prefetched shards (by default the whole next window, all its GETs
// in flight together), and the batch being filled. A shard may stay in its
// stored form (image bytes) and be scaled an example at a time straight into
// the batch: one pass, and a quarter of the floats' size held per shard.
import { epochPlan } from './order.ts';

export interface ShardData {
  /** featureSize floats per example; or, instead, `copy`. */
  features?: Float32Array;
  /** Writes example j's featureSize floats into out at `at` (a shard held as bytes, or a view of some rows of another). */
  copy?(j: number, out: Float32Array, at: number): void;
  /** Class index of each example in the job's label order. */
  classes: Int32Array;
}

/** How to write a shard's example j into a batch, whichever form the shard has. */
export function exampleWriter(d: ShardData, featureSize: number): (j: number, out: Float32Array, at: number) => void {
  if (d.copy) return d.copy.bind(d);
  const features = d.features;
  if (!features) throw new Error('A shard has neither features nor copy');
  return (j, out, at) => out.set(features.subarray(j * featureSize, (j + 1) * featureSize), at);
}

export interface ShardSource {
  featureSize: number;
  /** Examples in each shard, in storage order. */
  shardSizes: number[];
  readShard(i: number): Promise<ShardData>;
}

export interface StreamOptions {
  batchSize: number;
  seed: number;
  /** 0-based; each epoch has its own order. */
  epoch: number;
  /** false: storage order (evaluation). Default true. */
  shuffle?: boolean;
  /** Shards shuffled together; more mixes better and holds more. Default 4. */
  window?: number;
  /** Shards read ahead of the window in use. Default `window`: the next window is read while this one is consumed. */
  prefetch?: number;
  /** Resume: the first batch to yield; the ones before are skipped without reading their shards where possible. */
  startBatch?: number;
}

export interface Batch {
  /** 0-based within the epoch. */
  index: number;
  size: number;
  features: Float32Array;
  classes: Int32Array;
  /** Each example's position in the source's storage order: what per-example randomness (dropout, augmentation) is drawn from. */
  ids: Int32Array;
}

export interface StreamStats {
  /** Time the consumer's next() spent waiting on shard reads. */
  waitMs: number;
  shardsRead: number;
  /** Most shards held at once (window, prefetched and in flight). */
  maxResidentShards: number;
}

/** Maps a position in a window's examples to [shard of the window, example within it]. */
function locator(data: ShardData[]): (pos: number) => readonly [number, number] {
  const starts: number[] = [];
  let at = 0;
  for (const d of data) {
    starts.push(at);
    at += d.classes.length;
  }
  return (pos) => {
    let k = starts.length - 1;
    while (starts[k] > pos) k--;
    return [k, pos - starts[k]] as const;
  };
}

/** Batches of one epoch; `stats` fills as it goes. */
export async function* epochBatches(src: ShardSource, opts: StreamOptions, stats: StreamStats = { waitMs: 0, shardsRead: 0, maxResidentShards: 0 }): AsyncGenerator<Batch> {
  const window = Math.max(1, opts.window ?? 4);
  const prefetch = Math.max(0, opts.prefetch ?? window);
  const plans = epochPlan(src.shardSizes, window, opts.seed, opts.epoch, opts.shuffle ?? true);
  const readOrder = plans.flatMap((p) => p.shards);
  const skipExamples = (opts.startBatch ?? 0) * opts.batchSize;
  const pending = new Map<number, Promise<ShardData>>();
  let issued = 0;
  const issueUpTo = (n: number) => {
    for (; issued < Math.min(n, readOrder.length); issued++) {
      const s = readOrder[issued];
      const read = src.readShard(s);
      read.catch(() => undefined); // a read ahead that fails is reported when its window awaits it, not as unhandled
      pending.set(s, read);
    }
    stats.maxResidentShards = Math.max(stats.maxResidentShards, pending.size);
  };

  const f = src.featureSize;
  const firsts: number[] = [];
  src.shardSizes.reduce((at, size, s) => ((firsts[s] = at), at + size), 0);
  const fresh = () => ({ features: new Float32Array(opts.batchSize * f), classes: new Int32Array(opts.batchSize), ids: new Int32Array(opts.batchSize), size: 0 });
  let batch = fresh();
  let seen = 0; // examples of the epoch passed so far
  let index = 0; // of the batch being filled
  let consumed = 0; // shards of readOrder whose window is done
  for (const plan of plans) {
    const n = plan.shards.reduce((sum, s) => sum + src.shardSizes[s], 0);
    if (seen + n <= skipExamples) {
      // Wholly inside the skipped batches: never read.
      seen += n;
      consumed += plan.shards.length;
      issued = Math.max(issued, consumed);
      continue;
    }
    issueUpTo(consumed + plan.shards.length + prefetch);
    const t = performance.now();
    const data = await Promise.all(plan.shards.map((s) => pending.get(s)!));
    stats.waitMs += performance.now() - t;
    stats.shardsRead += plan.shards.length;
    const locate = locator(data);
    const writers = data.map((d) => exampleWriter(d, f));
    for (let i = 0; i < plan.order.length; i++, seen++) {
      if (seen < skipExamples) continue;
      if (batch.size === 0) index = Math.floor(seen / opts.batchSize);
      const [k, j] = locate(plan.order[i]);
      writers[k](j, batch.features, batch.size * f);
      batch.classes[batch.size] = data[k].classes[j];
      batch.ids[batch.size++] = firsts[plan.shards[k]] + j;
      if (batch.size === opts.batchSize) {
        yield { index, ...batch };
        batch = fresh();
      }
    }
    for (const s of plan.shards) pending.delete(s);
    consumed += plan.shards.length;
  }
  if (batch.size > 0) yield { index, size: batch.size, features: batch.features.subarray(0, batch.size * f), classes: batch.classes.subarray(0, batch.size), ids: batch.ids.subarray(0, batch.size) };
}
