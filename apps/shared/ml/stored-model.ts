// A LayersModel's files in storage, read and checked as data: no tfjs here, so
// that the API (which registers models) never loads TensorFlow.js.
import type { Storage } from '../storage/s3-storage.ts';
import { checkShardPath, checkTopologyFitsManifest, checkWeightBytes, expectedWeightBytes, parseModelJson } from './model-files.ts';
import { LimitExceededError } from '../errors.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

export interface LoadedFiles {
  modelJson: ReturnType<typeof parseModelJson>;
  weights: Uint8Array;
}

const MAX_MODEL_JSON_BYTES = 16 * 2 ** 20;

/** MAX_MODEL_BYTES (summed from the manifest) and MAX_MODEL_LAYERS. */
export interface ModelFileLimits {
  maxWeightBytes: number;
  maxLayers: number;
}

/**
 * Reads and validates model.json and its shards; `prefix` ends with '/'. The
 * manifest's declared size is checked against maxWeightBytes before any shard is fetched.
 */
export async function readModelFiles(storage: Storage, prefix: string, bucket = storage.bucket, limits: ModelFileLimits = { maxWeightBytes: Infinity, maxLayers: Infinity }): Promise<LoadedFiles> {
  const modelJson = parseModelJson(await storage.getBytes(prefix + MODEL_JSON, bucket, MAX_MODEL_JSON_BYTES), limits.maxLayers);
  const declared = expectedWeightBytes(modelJson);
  if (declared > limits.maxWeightBytes) {
    throw new LimitExceededError('model_too_large', `The weights declare ${declared} bytes`, 422, 'MAX_MODEL_BYTES', limits.maxWeightBytes, declared);
  }
  checkTopologyFitsManifest(modelJson);
  const shards: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    // A shard larger than everything declared is a lie, whatever it holds.
    for (const p of group.paths) shards.push(await storage.getBytes(prefix + checkShardPath(p), bucket, declared));
  }
  // One shard is already the whole: no copy of a large model on the event loop.
  const weights = shards.length === 1 ? shards[0] : Buffer.concat(shards);
  checkWeightBytes(modelJson, weights.byteLength);
  return { modelJson, weights };
}
