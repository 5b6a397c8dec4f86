// Stage 1, load: fetch a base LayersModel from S3 through the project's own
// IO handler, validating its files before tfjs allocates any weights.
import { createHash } from 'node:crypto';
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { filesIOHandler, readModelFiles } from '../../../shared/ml/s3-io-handler.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

export interface LoadedModel {
  model: LayersModel;
  /** sha256 of the topology and weights: the model's content address. */
  digest: string;
}

export async function loadModel(storage: Storage, prefix: string): Promise<LoadedModel> {
  const files = await readModelFiles(storage, prefix);
  const digest = createHash('sha256').update(JSON.stringify(files.modelJson.modelTopology)).update(files.weights).digest('hex');
  return { model: await tf.loadLayersModel(filesIOHandler(files)), digest };
}
