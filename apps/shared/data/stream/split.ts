// A job's view of one split of its data (training, validation, test) as a
// ShardSource with what the stages need to know before reading it: its size,
// shape, classes and a digest of its content. Small splits are read whole
// into memory (readAll); large ones are streamed (batches.ts). A validation
// split of a single dataset picks examples by a hash of (seed, example index),
// so both sides are seeded and disjoint, and neither needs the other's bytes.
import { createHash } from 'node:crypto';
import { exampleWriter, type ShardData, type ShardSource } from './batches.ts';

export interface SplitSource extends ShardSource {
  numExamples: number;
  featureShape: number[];
  /** Class index of each example, in storage order (4 bytes an example: small next to the features). */
  classes: Int32Array;
  /** sha256 of the examples' content (bytes and preprocessing) in this order: what caches key on. */
  digest: string;
  /** Set on one side of splitSide: which examples of which source it keeps (a pass over both sides reads the source once). */
  side?: SideOf;
}

export interface SideOf {
  parent: SplitSource;
  seed: number;
  fraction: number;
  side: 'train' | 'validation';
}

/** A 32-bit mix (murmur3's finaliser) of seed and example index. */
function mix(seed: number, i: number): number {
  let h = (Math.imul(seed ^ 0x27d4eb2f, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether example i of a dataset is held out for validation: the same answer for the same seed, whatever else is read. */
export const heldOut = (seed: number, fraction: number, i: number) => mix(seed, i) / 2 ** 32 < fraction;

/** The examples of `src` on one side of a seeded validation split, in storage order; shards keep their boundaries. */
export function splitSide(src: SplitSource, seed: number, fraction: number, side: 'train' | 'validation'): SplitSource {
  const keep = (i: number) => heldOut(seed, fraction, i) === (side === 'validation');
  const kept: number[][] = [];
  const ids: number[] = [];
  let first = 0;
  for (const size of src.shardSizes) {
    const rows: number[] = [];
    for (let j = 0; j < size; j++) {
      if (!keep(first + j)) continue;
      rows.push(j);
      ids.push(first + j);
    }
    kept.push(rows);
    first += size;
  }
  const f = src.featureSize;
  return {
    featureSize: f,
    featureShape: src.featureShape,
    shardSizes: kept.map((rows) => rows.length),
    numExamples: ids.length,
    classes: Int32Array.from(ids, (i) => src.classes[i]),
    digest: createHash('sha256').update(JSON.stringify({ of: src.digest, seed, fraction, side })).digest('hex'),
    side: { parent: src, seed, fraction, side },
    async readShard(s): Promise<ShardData> {
      const whole = await src.readShard(s);
      const rows = kept[s];
      // A view of the kept rows: nothing is copied until a batch takes an example.
      const write = exampleWriter(whole, f);
      return { classes: Int32Array.from(rows, (j) => whole.classes[j]), copy: (k, out, at) => write(rows[k], out, at) };
    },
  };
}

/** Every example in storage order: the in-memory path for small data. */
export async function readAll(src: SplitSource): Promise<{ features: Float32Array; classes: Int32Array }> {
  const features = new Float32Array(src.numExamples * src.featureSize);
  const classes = new Int32Array(src.numExamples);
  let at = 0;
  for (let s = 0; s < src.shardSizes.length; s++) {
    const d = await src.readShard(s);
    const write = exampleWriter(d, src.featureSize);
    for (let j = 0; j < d.classes.length; j++) write(j, features, (at + j) * src.featureSize);
    classes.set(d.classes, at);
    at += d.classes.length;
  }
  if (at !== src.numExamples) throw new Error(`The shards hold ${at} examples, not ${src.numExamples}`);
  return { features, classes };
}

/** Decoded float32 bytes of a split: what decides whether it is held in memory. */
export const floatBytes = (src: Pick<SplitSource, 'numExamples' | 'featureSize'>) => src.numExamples * src.featureSize * 4;

/** Examples already in memory as a SplitSource (MNIST, parsed CSV/NDJSON): shards are views, nothing is copied. */
export function memorySource(features: Float32Array, featureShape: number[], classes: Int32Array, digest: string, shardSize = 4096): SplitSource {
  const f = featureShape.reduce((a, b) => a * b, 1);
  const n = classes.length;
  const shardSizes = Array.from({ length: Math.ceil(n / shardSize) }, (_, s) => Math.min(shardSize, n - s * shardSize));
  return {
    featureSize: f,
    featureShape,
    shardSizes,
    numExamples: n,
    classes,
    digest,
    async readShard(s) {
      const start = s * shardSize;
      const end = start + shardSizes[s];
      return { features: features.subarray(start * f, end * f), classes: classes.subarray(start, end) };
    },
  };
}
