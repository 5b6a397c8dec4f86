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
  /** A head trained on a Graph model: its graph, in base/ (tf.loadGraphModel), and the node whose output the head takes. */
  base?: { modelJson: string; weights: string; outputNode: string };
}

/**
 * Writes model.json and weights.bin into `dir` (tf.loadLayersModel('file://dir/model.json') loads them);
 * for a head trained on a Graph model, its graph too, into dir/base/ (docs/models.md).
 */
export async function downloadModel(client: FinetuneClient, id: string, dir: string, opts?: CallOptions): Promise<DownloadedModel> {
  const [model, json, weights] = await Promise.all([client.models.get(id, opts), client.models.file(id, 'model.json', opts), client.models.file(id, 'weights.bin', opts)]);
  await mkdir(dir, { recursive: true });
  const out: DownloadedModel = { modelJson: path.join(dir, 'model.json'), weights: path.join(dir, 'weights.bin'), bytes: json.byteLength + weights.byteLength };
  await writeFile(out.modelJson, json);
  await writeFile(out.weights, weights);
  if (model.format === 'graph-head' && model.files.base) {
    const [baseJson, baseWeights] = await Promise.all([client.models.file(id, 'base/model.json', opts), client.models.file(id, 'base/weights.bin', opts)]);
    await mkdir(path.join(dir, 'base'), { recursive: true });
    out.base = { modelJson: path.join(dir, 'base', 'model.json'), weights: path.join(dir, 'base', 'weights.bin'), outputNode: model.files.base.outputNode };
    await writeFile(out.base.modelJson, baseJson);
    await writeFile(out.base.weights, baseWeights);
    out.bytes += baseJson.byteLength + baseWeights.byteLength;
  }
  return out;
}

/** Writes the model as a Keras 3 `.keras` file at `file` (keras.models.load_model opens it). */
export async function downloadKerasModel(client: FinetuneClient, id: string, file: string, opts?: CallOptions): Promise<{ file: string; bytes: number }> {
  const bytes = await client.models.file(id, 'model.keras', opts);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { file, bytes: bytes.byteLength };
}
