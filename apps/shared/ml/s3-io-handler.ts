// A tf.io.IOHandler over the project's Storage: loads and saves a LayersModel
// as model.json plus one weights.bin under a key prefix.
import type { io } from '@tensorflow/tfjs';
import { tf } from './tf.ts';
import type { Storage } from '../storage/s3-storage.ts';
import { MODEL_JSON, WEIGHTS_FILE, readModelFiles, type LoadedFiles } from './stored-model.ts';

// Their home is tf-free (the API reads model files too); re-exported for the worker's imports.
export { MODEL_JSON, WEIGHTS_FILE, readModelFiles, type LoadedFiles, type ModelFileLimits } from './stored-model.ts';

function toArtifacts(files: LoadedFiles): io.ModelArtifacts {
  const { modelJson, weights } = files;
  return {
    modelTopology: modelJson.modelTopology,
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
