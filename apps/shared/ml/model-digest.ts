// A stored model's content address: part of the feature cache's key, whose
// entries (cache/features/<hash>/) are shared by every tenant. It covers all
// that decides what the model computes: the topology, the weights manifest
// (names, order, shapes, dtypes, quantization: the same bytes read under
// another manifest are another model) and the weight bytes.
import { createHash } from 'node:crypto';
import type { LoadedFiles } from './stored-model.ts';

export function modelDigest(files: LoadedFiles): string {
  const { format, modelTopology, weightsManifest } = files.modelJson as LoadedFiles['modelJson'] & { format?: string };
  return createHash('sha256').update(JSON.stringify({ format: format ?? null, modelTopology, weightsManifest })).update('\0').update(files.weights).digest('hex');
}
