// Stage 1, load: fetch a base LayersModel from S3 through the project's own
// IO handler, validating its files (the graph included) before tfjs allocates
// any weights. A model a user registered is first built by the model inspector,
// in a child process bounded in time and memory: a topology that would make
// tfjs spin fails the job (model_invalid) instead of holding it forever.
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { modelDigest } from '../../../shared/ml/model-digest.ts';
import { filesIOHandler, readModelFiles } from '../../../shared/ml/s3-io-handler.ts';
import type { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

export interface LoadedModel {
  model: LayersModel;
  /** sha256 of the topology, the weights manifest and the weights: the model's content address (model-digest.ts). */
  digest: string;
}

/** `inspector`: given for files a user brought (a registered base); the service's own outputs need none. */
export async function loadModel(storage: Storage, prefix: string, inspector?: ModelInspector): Promise<LoadedModel> {
  const files = await readModelFiles(storage, prefix);
  if (inspector) await inspector.inspect(files);
  const digest = modelDigest(files);
  return { model: await tf.loadLayersModel(filesIOHandler(files)), digest };
}
