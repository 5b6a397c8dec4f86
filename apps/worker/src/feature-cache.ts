// Activations of a frozen base, cached in S3 under a content address: the
// base's bytes, the cut layer and the exact examples the base is given (their
// float32 values after parsing and scaling, not the dataset's id, whose bytes
// can change). Later jobs on the same base and data (other heads, other
// hyperparameters) skip the forward pass.
import { createHash } from 'node:crypto';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../shared/ml/tf.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { runBase, type Features } from './pipeline/base-features.ts';
import type { Trainable } from './pipeline/batch-gradients.ts';
import type { GradientPeers } from './pipeline/peers.ts';

export type { Features };

export interface FeatureKeyParts {
  modelDigest: string;
  cutLayer: string;
  /** examplesDigest() of the training inputs (after any validation split). */
  train: string;
  validation?: string;
}

// 2: keyed by the examples' content instead of dataset ids.
const VERSION = 2;

export function featureKey(p: FeatureKeyParts): string {
  const hash = createHash('sha256').update(JSON.stringify({ v: VERSION, model: p.modelDigest, cut: p.cutLayer, train: p.train, validation: p.validation ?? null })).digest('hex');
  return `cache/features/${hash}/`;
}

interface Meta {
  train: number[];
  validation?: number[];
}

export async function readFeatures(storage: Storage, prefix: string): Promise<Features | null> {
  let meta: Meta;
  try {
    meta = JSON.parse(Buffer.from(await storage.getBytes(prefix + 'meta.json')).toString('utf8'));
  } catch {
    return null;
  }
  const read = async (name: string, shape: number[]) => {
    const bytes = await storage.getBytes(prefix + name);
    const copy = new Uint8Array(bytes); // aligned for Float32Array
    return tf.tensor(new Float32Array(copy.buffer, 0, copy.byteLength / 4), shape);
  };
  const train = await read('train.f32', meta.train);
  const validation = meta.validation ? await read('validation.f32', meta.validation) : undefined;
  return { train, validation };
}

export async function writeFeatures(storage: Storage, prefix: string, f: Features): Promise<void> {
  const bytes = async (t: Tensor) => new Uint8Array(((await t.data()) as Float32Array).buffer);
  await storage.put(prefix + 'train.f32', await bytes(f.train));
  if (f.validation) await storage.put(prefix + 'validation.f32', await bytes(f.validation));
  // Written last: a cache entry with meta.json is complete.
  const meta: Meta = { train: f.train.shape, validation: f.validation?.shape };
  await storage.put(prefix + 'meta.json', JSON.stringify(meta), 'application/json');
}

export interface CacheOptions {
  /** Threads that each compute a slice of the features. */
  peers?: GradientPeers;
  /** Told when the write failed (the job goes on: the cache only saves time). */
  onWriteError?: (err: Error) => Promise<unknown>;
}

/** A frozen base's features: from the cache when another job computed them, else computed and cached. */
export async function cachedFeatures(storage: Storage, parts: Trainable, inputs: { train: Tensor; validation?: Tensor }, key: string, opts: CacheOptions = {}): Promise<{ features: Features; hit: boolean }> {
  const cached = await readFeatures(storage, key);
  if (cached && cached.train.shape[0] === inputs.train.shape[0] && (cached.validation?.shape[0] ?? 0) === (inputs.validation?.shape[0] ?? 0)) {
    return { features: cached, hit: true };
  }
  if (cached) tf.dispose([cached.train, ...(cached.validation ? [cached.validation] : [])]);
  const features: Features = {
    train: await runBase(parts, inputs.train, opts.peers),
    validation: inputs.validation ? await runBase(parts, inputs.validation, opts.peers) : undefined,
  };
  await writeFeatures(storage, key, features).catch((err: Error) => opts.onWriteError?.(err));
  return { features, hit: false };
}
