// Stage 1, load: fetch a base LayersModel from S3 through the project's own
// IO handler, validating its files before tfjs allocates any weights.
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { filesIOHandler, readModelFiles } from '../../../shared/ml/s3-io-handler.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

export async function loadModel(storage: Storage, prefix: string): Promise<LayersModel> {
  const files = await readModelFiles(storage, prefix);
  return tf.loadLayersModel(filesIOHandler(files));
}
