// Activations of a frozen base, cached in S3 under a content address: the
// base's bytes, the cut layer and the exact examples. Later jobs on the same
// base and data (other heads, other hyperparameters) skip the forward pass.
import { createHash } from 'node:crypto';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../shared/ml/tf.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';

export interface FeatureKeyParts {
  modelDigest: string;
  cutLayer: string;
  trainDatasetId: string;
  validationDatasetId?: string;
  /** The split decides which examples are training and which validation. */
  validationSplit: number;
  seed: number;
}

export interface Features {
  train: Tensor;
  validation?: Tensor;
}

const VERSION = 1;

export function featureKey(p: FeatureKeyParts): string {
  const hash = createHash('sha256').update(JSON.stringify({ v: VERSION, ...p, validationSplit: p.validationDatasetId ? null : p.validationSplit, seed: p.validationDatasetId ? null : p.seed })).digest('hex');
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
