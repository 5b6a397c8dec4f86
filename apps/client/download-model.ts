// Node only (the file system): a model's two files written into a folder.
// Kept out of client.ts so that the browser build carries no node: imports.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FinetuneClient } from './client.ts';
import type { CallOptions } from './transport.ts';

export interface DownloadedModel {
  modelJson: string;
  weights: string;
  bytes: number;
}

/** Writes model.json and weights.bin into `dir` (tf.loadLayersModel('file://dir/model.json') loads them). */
export async function downloadModel(client: FinetuneClient, id: string, dir: string, opts?: CallOptions): Promise<DownloadedModel> {
  const [json, weights] = await Promise.all([client.models.file(id, 'model.json', opts), client.models.file(id, 'weights.bin', opts)]);
  await mkdir(dir, { recursive: true });
  const out = { modelJson: path.join(dir, 'model.json'), weights: path.join(dir, 'weights.bin') };
  await writeFile(out.modelJson, json);
  await writeFile(out.weights, weights);
  return { ...out, bytes: json.byteLength + weights.byteLength };
}

/** Writes the model as a Keras 3 `.keras` file at `file` (keras.models.load_model opens it). */
export async function downloadKerasModel(client: FinetuneClient, id: string, file: string, opts?: CallOptions): Promise<{ file: string; bytes: number }> {
  const bytes = await client.models.file(id, 'model.keras', opts);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { file, bytes: bytes.byteLength };
}
