// A registered CSV/NDJSON dataset as a ShardSource: registration streamed the
// file and wrote its examples as float32 shards (little-endian, featureSize
// floats an example) with the class of each example beside them, so a job
// reads tabular data a window of shards at a time, exactly as it reads images.
import { createHash } from 'node:crypto';
import { BadRequestError, UnprocessableError } from '../../errors.ts';
import type { Storage } from '../../storage/s3-storage.ts';
import type { SplitSource } from './split.ts';

const pad = (i: number) => String(i).padStart(5, '0');
export const tabularShardKey = (prefix: string, i: number) => `${prefix}shard-${pad(i)}.f32`;
/** Int32 codes into the index's `seen` labels: known as rows arrive, unlike the sorted order. */
export const tabularClassesKey = (prefix: string, i: number) => `${prefix}classes-${pad(i)}.i32`;
export const tabularIndexKey = (prefix: string) => `${prefix}index.json`;

/** index.json of a tabular dataset. */
export interface TabularIndex {
  /** Sorted, as the dataset row lists them. */
  labels: string[];
  /** In the order the file first used them: what the classes objects index into. */
  seen: string[];
  featureColumns: string[];
  shardSizes: number[];
  /** sha256 of each shard's float32 bytes: what a feature cache keys on. */
  shardDigests: string[];
}

/** The stored source of a CSV/NDJSON dataset registered as shards (the Dataset row's source column). */
export type TabularShardsSource = {
  type: 's3';
  uri: string;
  format: 'csv' | 'ndjson';
  labelColumn: string;
  featureColumns: string[];
  /** datasets/<id>/: index.json, shard-NNNNN.f32 and classes-NNNNN.i32. */
  prefix: string;
  numShards: number;
};

/** Bytes read from S3 as a typed array of their own (a view of a pooled or unaligned buffer cannot be one). */
function aligned<T>(bytes: Uint8Array, make: (b: ArrayBuffer) => T): T {
  return make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

export async function readTabularIndex(source: TabularShardsSource, storage: Storage): Promise<TabularIndex> {
  return JSON.parse(Buffer.from(await storage.getBytes(tabularIndexKey(source.prefix))).toString('utf8')) as TabularIndex;
}

/** Every example's class in the job's label order (4 bytes an example, read once a job starts). */
async function readClasses(source: TabularShardsSource, index: TabularIndex, storage: Storage, labelOrder: string[]): Promise<Int32Array> {
  const position = new Map(labelOrder.map((l, i) => [l, i] as const));
  const toJob = index.seen.map((l) => {
    const c = position.get(l);
    if (c === undefined) throw new UnprocessableError('label_mismatch', `Label "${l}" is not one of the training labels`, { label: l });
    return c;
  });
  const n = index.shardSizes.reduce((a, b) => a + b, 0);
  const classes = new Int32Array(n);
  let at = 0;
  for (let s = 0; s < index.shardSizes.length; s++) {
    const codes = aligned(await storage.getBytes(tabularClassesKey(source.prefix, s)), (b) => new Int32Array(b));
    if (codes.length !== index.shardSizes[s]) throw new BadRequestError('dataset_invalid', `Shard ${s} lists ${codes.length} classes, the index ${index.shardSizes[s]}`, { shard: s });
    for (let i = 0; i < codes.length; i++) classes[at + i] = toJob[codes[i]];
    at += codes.length;
  }
  return classes;
}

export async function tabularShards(source: TabularShardsSource, storage: Storage, labelOrder: string[]): Promise<SplitSource> {
  const index = await readTabularIndex(source, storage);
  const classes = await readClasses(source, index, storage, labelOrder);
  const f = index.featureColumns.length;
  const firsts: number[] = [];
  index.shardSizes.reduce((at, size, s) => ((firsts[s] = at), at + size), 0);
  return {
    classes,
    digest: createHash('sha256').update(JSON.stringify({ tabular: index.shardDigests, featureColumns: index.featureColumns })).digest('hex'),
    featureShape: [f],
    featureSize: f,
    numExamples: classes.length,
    shardSizes: index.shardSizes,
    async readShard(s) {
      const bytes = await storage.getBytes(tabularShardKey(source.prefix, s));
      if (bytes.byteLength !== index.shardSizes[s] * f * 4) {
        throw new BadRequestError('dataset_invalid', `Shard ${s} holds ${bytes.byteLength} bytes, not ${index.shardSizes[s]} examples of ${f} float32 features`, { shard: s });
      }
      const first = firsts[s];
      return { features: aligned(bytes, (b) => new Float32Array(b)), classes: classes.slice(first, first + index.shardSizes[s]) };
    },
  };
}
