// Activations of a frozen base, cached in S3 under a content address: the
// base's bytes, the cut layer and the exact examples the base is given (their
// float32 values after parsing and scaling, not the dataset's id, whose bytes
// can change). Stored as shard objects of about 4 MiB. Later jobs on the same base and data (other heads, other
// hyperparameters) skip the forward pass.
import { createHash } from 'node:crypto';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../shared/ml/tf.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { runBase, type Features } from './pipeline/base-features.ts';
import type { Trainable } from './pipeline/batch-gradients.ts';
import type { GradientPeers } from './pipeline/peers.ts';
import { mapSides, mapSplit, type ExampleSplit } from './pipeline/splits.ts';

export type { Features };

export interface FeatureKeyParts {
  modelDigest: string;
  cutLayer: string;
  /** examplesDigest() of the training inputs (after any validation split). */
  train: string;
  validation?: string;
}

// 2: keyed by the examples' content instead of dataset ids. 3: stored in shards. 4: the model digest covers the weights manifest.
const VERSION = 4;

export function featureKey(p: FeatureKeyParts): string {
  const hash = createHash('sha256').update(JSON.stringify({ v: VERSION, model: p.modelDigest, cut: p.cutLayer, train: p.train, validation: p.validation ?? null })).digest('hex');
  return `cache/features/${hash}/`;
}

/** Rows per shard object: about 4 MiB of float32 each, so neither side of a read or write holds more than a shard of bytes beyond the features. */
const SHARD_BYTES = 4 * 2 ** 20;

interface Meta {
  train: number[];
  validation?: number[];
  /** Rows in each shard object (the last may have fewer). */
  shardRows: number;
}

const shardName = (split: string, i: number) => `${split}-${String(i).padStart(5, '0')}.f32`;

export async function readFeatures(storage: Storage, prefix: string): Promise<Features | null> {
  let meta: Meta;
  try {
    meta = JSON.parse(Buffer.from(await storage.getBytes(prefix + 'meta.json')).toString('utf8'));
  } catch {
    return null;
  }
  if (!meta.shardRows) return null; // an entry of an older layout: computed again
  const read = async (split: string, shape: number[]) => {
    const row = shape.slice(1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(shape[0] * row);
    for (let i = 0, at = 0; at < out.length; i++) {
      const bytes = await storage.getBytes(prefix + shardName(split, i));
      // A view where the bytes are aligned for Float32Array (a copy where not).
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
      out.set(new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4), at);
      at += aligned.byteLength / 4;
    }
    return tf.tensor(out, shape);
  };
  const train = await read('train', meta.train);
  const validation = meta.validation ? await read('validation', meta.validation) : undefined;
  return { train, validation };
}

export async function writeFeatures(storage: Storage, prefix: string, f: Features): Promise<void> {
  const row = Math.max(1, f.train.shape.slice(1).reduce((a, b) => a * b, 1));
  const shardRows = Math.max(1, Math.floor(SHARD_BYTES / (4 * row)));
  const write = async (split: string, t: Tensor) => {
    const data = (await t.data()) as Float32Array;
    const per = shardRows * row;
    for (let i = 0; i * per < data.length || i === 0; i++) {
      const part = data.subarray(i * per, Math.min(data.length, (i + 1) * per));
      await storage.put(prefix + shardName(split, i), new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    }
  };
  await write('train', f.train);
  if (f.validation) await write('validation', f.validation);
  // Written last: a cache entry with meta.json is complete.
  const meta: Meta = { train: f.train.shape, validation: f.validation?.shape, shardRows };
  await storage.put(prefix + 'meta.json', JSON.stringify(meta), 'application/json');
}

export interface CacheOptions {
  /** Threads that each compute a slice of the features. */
  peers?: GradientPeers;
  /** Told when the write failed (the job goes on: the cache only saves time). */
  onWriteError?: (err: Error) => Promise<unknown>;
}

/** A frozen base's features: from the cache when another job computed them, else computed (a batch at a time from streamed data) and cached. */
export async function cachedFeatures(storage: Storage, parts: Trainable, inputs: { train: ExampleSplit; validation?: ExampleSplit }, key: string, opts: CacheOptions = {}): Promise<{ features: Features; hit: boolean }> {
  const cached = await readFeatures(storage, key);
  if (cached && cached.train.shape[0] === inputs.train.numExamples && (cached.validation?.shape[0] ?? 0) === (inputs.validation?.numExamples ?? 0)) {
    return { features: cached, hit: true };
  }
  if (cached) tf.dispose([cached.train, ...(cached.validation ? [cached.validation] : [])]);
  const base = (x: Tensor) => runBase(parts, x, opts.peers);
  const both = inputs.validation ? await mapSides(inputs.train, inputs.validation, base) : null;
  const features: Features = both ?? {
    train: await mapSplit(inputs.train, base),
    validation: inputs.validation ? await mapSplit(inputs.validation, base) : undefined,
  };
  await writeFeatures(storage, key, features).catch((err: Error) => opts.onWriteError?.(err));
  return { features, hit: false };
}
