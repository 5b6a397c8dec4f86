// A tf.io.IOHandler over the project's Storage: loads and saves a LayersModel
// as model.json plus one weights.bin under a key prefix.
import type { io } from '@tensorflow/tfjs';
import { tf } from './tf.ts';
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
  const weights = Buffer.concat(shards);
  checkWeightBytes(modelJson, weights.byteLength);
  return { modelJson, weights };
}

function toArtifacts(files: LoadedFiles): io.ModelArtifacts {
  const { modelJson, weights } = files;
  return {
    modelTopology: modelJson.modelTopology as never,
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights) as io.WeightsManifestEntry[],
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy ?? undefined,
  };
}

/** An IOHandler whose load() serves already-validated files. */
export function filesIOHandler(files: LoadedFiles): io.IOHandler {
  return { load: async () => toArtifacts(files) };
}

export function s3IOHandler(storage: Storage, prefix: string): io.IOHandler {
  return {
    load: async () => toArtifacts(await readModelFiles(storage, prefix)),
    save: async (artifacts) => {
      const data = artifacts.weightData ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)) : new Uint8Array();
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      // Weights first: a model.json that exists always has its weights beside it.
      await storage.put(prefix + WEIGHTS_FILE, data);
      await storage.put(prefix + MODEL_JSON, JSON.stringify(modelJson), 'application/json');
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: data.byteLength,
        },
      };
    },
  };
}
