// The model inspector's Keras import: the request the parent sends, and what
// the child does with it. Parsing a hostile .keras/.h5 (zip, HDF5, JSON) and
// building the result with tfjs both happen in the child, under its time and
// memory limits, never on the API's event loop.
import type * as tfjs from '@tensorflow/tfjs';
import { AppError, type ErrorCode } from '../errors.ts';
import { importKerasModel, type KerasFormat } from './keras/import.ts';
import { summarize, type ModelSummary } from './model-summary.ts';

/** Parent → child. */
export interface ImportRequest {
  type: 'import';
  bytes: Uint8Array;
  format?: KerasFormat;
  maxWeightBytes: number;
  maxLayers: number;
  timeoutMs: number;
  memoryMb: number;
}

/** Child → parent: model.json as text, its weights, and what tfjs built from them. */
export interface ImportedFiles {
  modelJson: string;
  weights: Uint8Array;
  summary: ModelSummary;
  format: KerasFormat;
}

export type ImportAnswer =
  | { type: 'imported'; files: ImportedFiles }
  | { type: 'invalid'; message: string }
  | { type: 'refused'; code: ErrorCode; statusCode: number; message: string; details?: Record<string, unknown> };

/** Runs in the child: converts, checks, builds with tfjs, summarizes. */
export async function runImport(tf: typeof tfjs, req: ImportRequest): Promise<ImportAnswer> {
  let imported;
  try {
    imported = await importKerasModel(req.bytes, { maxWeightBytes: req.maxWeightBytes, maxLayers: req.maxLayers }, req.format);
  } catch (err) {
    if (err instanceof AppError) return { type: 'refused', code: err.code, statusCode: err.statusCode, message: err.message, details: err.details as Record<string, unknown> | undefined };
    return { type: 'invalid', message: (err as Error)?.message ?? String(err) };
  }
  const { modelJson, weights } = imported;
  try {
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights) as tfjs.io.WeightsManifestEntry[];
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
    return { type: 'imported', files: { modelJson: JSON.stringify(modelJson), weights, summary: summarize(model), format: imported.format } };
  } catch (err) {
    return { type: 'invalid', message: (err as Error)?.message ?? String(err) };
  }
}
