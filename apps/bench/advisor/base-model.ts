// The MNIST 0–4 base: the Keras mnist_transfer_cnn recipe trained on digits
// 0–4 (test/fixtures/keras/mnist_convnet_0to4.keras, see its README), imported
// as a registered .keras file is.
import { readFileSync } from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs';
import { importKerasModel } from '../../shared/ml/keras/import.ts';
import { filesIOHandler } from '../../shared/ml/s3-io-handler.ts';
import { tf } from '../../shared/ml/tf.ts';

export const BASE_FIXTURE = new URL('../../../test/fixtures/keras/mnist_convnet_0to4.keras', import.meta.url);

export async function loadMnistBase(): Promise<LayersModel> {
  const imported = await importKerasModel(new Uint8Array(readFileSync(BASE_FIXTURE)), { maxWeightBytes: 100 * 2 ** 20, maxLayers: 256 });
  return tf.loadLayersModel(filesIOHandler(imported));
}
