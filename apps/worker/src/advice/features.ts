// The advisor's view of a base: which layers a head could sit on, and the
// base's activations there as a small float64 matrix. Wide activations (a
// conv map, a flattened one) are reduced by a fixed, seeded Gaussian random
// projection (Johnson–Lindenstrauss: distances, and so linear separability,
// are roughly kept) so that LogME and the probe work on at most MAX_DIMS
// columns.
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { seededRandom } from '../../../shared/seeded-random.ts';
import { predictBatched } from '../pipeline/scoring.ts';
import { matrix, type Matrix } from './linalg.ts';

export const MAX_DIMS = 128;

export interface CutCandidate {
  layer: string;
  /** The cut's output shape without the batch dimension. */
  shape: number[];
  /** Layers with weights from the input up to the cut: what unfreezing can train. */
  weightedBelow: number;
}

/**
 * Where a head could go, nearest the output first: the outputs of weighted
 * layers and of flatten layers, never the output layer itself (its classes are
 * the pretraining task's), one per number of weighted layers below. At most `max`.
 */
export function cutCandidates(model: LayersModel, max = 3): CutCandidate[] {
  const layers = model.layers;
  const out: CutCandidate[] = [];
  for (let i = layers.length - 2; i >= 0 && out.length < max; i--) {
    const l = layers[i];
    const kind = l.getClassName();
    if (l.countParams() === 0 && kind !== 'Flatten') continue;
    const weightedBelow = layers.slice(0, i + 1).filter((x) => x.countParams() > 0).length;
    // One cut per depth: below the same weighted layers (conv2 vs. pool/flatten), the nearest the output.
    if (weightedBelow === 0 || out.some((c) => c.weightedBelow === weightedBelow)) continue;
    const shape = ((l.output as SymbolicTensor).shape as number[]).slice(1);
    out.push({ layer: l.name, shape, weightedBelow });
  }
  return out;
}

/** The base cut at `layer`, sharing its weights (no copy). */
export function baseUpTo(model: LayersModel, layer: string): LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as SymbolicTensor });
}

/** Activations of the base at a cut for inputs x, flattened per example. */
export function activations(model: LayersModel, layer: string, x: Tensor): Tensor {
  const cut = baseUpTo(model, layer);
  const out = predictBatched(cut, x);
  const flat = out.reshape([out.shape[0], -1]);
  if (flat !== out) out.dispose();
  return flat;
}

/** Flattened activations (n×D) as an n×min(D, MAX_DIMS) float64 matrix; projected (seeded) when wider. */
export async function toMatrix(flat: Tensor, seed: number, maxDims = MAX_DIMS): Promise<Matrix> {
  const [n, d] = flat.shape as [number, number];
  if (d <= maxDims) return matrix(n, d, (await flat.data()) as Float32Array);
  const rand = seededRandom(seed);
  const proj = new Float32Array(d * maxDims);
  // Box–Muller normals scaled by 1/√k: the projection keeps norms in expectation.
  for (let i = 0; i < proj.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())) / Math.sqrt(maxDims);
    const t = 2 * Math.PI * rand();
    proj[i] = r * Math.cos(t);
    if (i + 1 < proj.length) proj[i + 1] = r * Math.sin(t);
  }
  const projected = tf.tidy(() => tf.matMul(flat, tf.tensor2d(proj, [d, maxDims])));
  const m = matrix(n, maxDims, (await projected.data()) as Float32Array);
  projected.dispose();
  return m;
}
