// Models and files that tests upload to their S3 bucket, as a user would.
import { s3IOHandler } from '../../apps/shared/ml/s3-io-handler.ts';
import { tf } from '../../apps/shared/ml/tf.ts';
import type { Storage } from '../../apps/shared/storage/s3-storage.ts';
import { readFileSync } from 'node:fs';
import type { Harness } from './harness.ts';

/** Saves a small dense LayersModel (4 features → 3 classes) under `prefix`; returns its s3:// URI. */
export async function uploadTinyModel(storage: Storage, prefix: string, inputs = 4): Promise<string> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inputs], units: 8, activation: 'relu', name: 'hidden' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ],
  });
  await model.save(s3IOHandler(storage, prefix));
  model.dispose();
  return `s3://${storage.bucket}/${prefix}model.json`;
}

/** A CSV with 4 numeric features and a string label, separable by feature 0. */
export function irisLikeCsv(rows = 60, labels = ['setosa', 'versicolor', 'virginica']): string {
  const lines = ['f0,f1,f2,f3,species'];
  for (let i = 0; i < rows; i++) {
    const c = i % labels.length;
    lines.push([c * 2 + (i % 7) * 0.05, (i % 5) * 0.1, 1 - c * 0.2, (i % 3) * 0.3, labels[c]].join(','));
  }
  return lines.join('\n') + '\n';
}

/** A file under test/fixtures/keras/ (saved by Keras itself). */
export const kerasFixture = (file: string) => new Uint8Array(readFileSync(new URL(`../fixtures/keras/${file}`, import.meta.url)));

/** Puts `bytes` in the test tenant's upload area as `name`; returns its s3:// URI. */
export async function uploadTo(h: Pick<Harness, 'storage' | 'uploads'>, name: string, bytes: Uint8Array): Promise<string> {
  await h.storage.put(`${h.uploads}${name}`, bytes);
  return `s3://${h.storage.bucket}/${h.uploads}${name}`;
}
