// A frozen base run over inputs once, in inference mode, as training would run
// it every batch: on this thread, or sliced across data-parallel peers. The
// training fast path and the feature cache both get their features here.
import type { Tensor } from '@tensorflow/tfjs';
import type { Trainable } from './batch-gradients.ts';
import type { GradientPeers } from './peers.ts';
import { predictBatched } from './scoring.ts';

export interface Features {
  train: Tensor;
  validation?: Tensor;
}

export async function runBase(parts: Trainable, x: Tensor, peers?: GradientPeers): Promise<Tensor> {
  const base = parts.base;
  if (!base) throw new Error('runBase: the parts have no base');
  if (!peers) return predictBatched(base, x);
  // The same parts object as training's, so the peers load the model once.
  await peers.load(parts);
  return peers.features(base, x);
}
