// The advisor's measurements, end to end, on tensors: no HTTP, no queue, no
// job. The worker's advice stage and the benchmark call this; the feature
// hook lets the worker serve a cut's activations from the feature cache.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Advice } from '../../../shared/jobs/advice.ts';
import type { StopReason } from '../pipeline/train-types.ts';
import { tf } from '../../../shared/ml/tf.ts';
import { seededRandom } from '../../../shared/seeded-random.ts';
import { dataStats, stratifiedSample } from './data-stats.ts';
import { activations, cutCandidates, toMatrix } from './features.ts';
import type { Matrix } from './linalg.ts';
import { logme } from './logme.ts';
import { probeAccuracy } from './probe.ts';
import { options, pick, reasons } from './recommend.ts';
import { outputSimilarity } from './similarity.ts';

export interface AdviseInput {
  /** The whole pretrained model, its own output layer included (similarity reads it). */
  base: LayersModel;
  x: Tensor;
  classes: Int32Array;
  /** Every training example's class, when x holds only a sample of a streamed split (size and balance read these). */
  allClasses?: Int32Array;
  numClasses: number;
  seed?: number;
  /** Examples measured (stratified); the probe also runs on half of them. */
  sampleSize?: number;
  maxCuts?: number;
  headWeightedLayers?: number;
  epochs?: number;
  batchSize?: number;
  /** Flattened activations at a cut for the sample (the worker reads them through the feature cache). */
  features?: (layer: string, x: Tensor) => Promise<Tensor>;
  /** Asked before each cut is measured: a stop (a cancel) ends the measurement there, with AdviceStopped. */
  shouldStop?: () => Promise<StopReason | false>;
}

/** The measurement was stopped between two cuts; nothing of it is returned. */
export class AdviceStopped extends Error {
  constructor(readonly reason: StopReason, readonly cutsMeasured: number) {
    super(`advice stopped (${reason}) after ${cutsMeasured} cut(s)`);
  }
}

const MEASURED_CUTS = 4;
/** float32 values of one cut's activations for the whole sample: 256 MiB. */
const MAX_ACTIVATION_VALUES = 64 * 2 ** 20;

function rows(m: Matrix, count: number): Matrix {
  return { rows: count, cols: m.cols, data: m.data.subarray(0, count * m.cols) };
}

/** Probe accuracy on the whole sample and on its first half (the sample is in a seeded, stratified order). */
function probes(m: Matrix, classes: Int32Array, k: number): [number, number] {
  const half = Math.floor(m.rows / 2);
  return [probeAccuracy(m, classes, k), probeAccuracy(rows(m, half), classes.subarray(0, half), k)];
}

export async function advise(input: AdviseInput): Promise<Advice> {
  const seed = input.seed ?? 42;
  const rand = seededRandom(seed);
  const picked = stratifiedSample(input.classes, input.numClasses, input.sampleSize ?? 1000, rand);
  // Shuffle the sample so that its first half is a random half.
  const order = Array.from(picked);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const idx = tf.tensor1d(Int32Array.from(order), 'int32');
  const x = tf.gather(input.x, idx);
  idx.dispose();
  const classes = Int32Array.from(order, (i) => input.classes[i]);
  try {
    const cuts: Advice['cuts'] = [];
    const offered = input.maxCuts ?? 2;
    // Every candidate is measured (at most MEASURED_CUTS); options are offered on the top `maxCuts`.
    // Activations too large to hold for the sample (an early conv map of a big base) are not measured.
    const held = cutCandidates(input.base, Math.max(offered, MEASURED_CUTS)).filter((c) => c.shape.reduce((a, b) => a * b, 1) * order.length <= MAX_ACTIVATION_VALUES);
    for (const [i, cut] of held.entries()) {
      // A cut's activations and probes are the costly part: a cancel is honoured before each.
      const stop = await input.shouldStop?.();
      if (stop) throw new AdviceStopped(stop, i);
      const flat = input.features ? await input.features(cut.layer, x) : activations(input.base, cut.layer, x);
      const m = await toMatrix(flat, seed);
      const dims = flat.shape[1] as number;
      flat.dispose();
      const [probeAcc, probeHalf] = probes(m, classes, input.numClasses);
      cuts.push({ layer: cut.layer, dims, measuredDims: m.cols, weightedLayersBelow: cut.weightedBelow, offered: i < offered, logme: logme(m, classes, input.numClasses).score, probeAccuracy: probeAcc, probeAccuracyHalf: probeHalf });
    }
    const raw = x.reshape([x.shape[0], -1]);
    const [rawAcc, rawHalf] = probes(await toMatrix(raw, seed), classes, input.numClasses);
    raw.dispose();
    const rec = {
      data: dataStats(input.allClasses ?? input.classes, input.numClasses),
      similarity: await outputSimilarity(input.base, x),
      cuts,
      sampleSize: order.length,
      rawProbeAccuracy: rawAcc,
      rawProbeAccuracyHalf: rawHalf,
      headWeightedLayers: input.headWeightedLayers ?? 1,
      epochs: input.epochs,
      batchSize: input.batchSize,
    };
    const opts = options(rec);
    const chosen = pick(opts);
    return { sampleSize: rec.sampleSize, data: rec.data, similarity: rec.similarity, cuts, rawProbeAccuracy: rawAcc, rawProbeAccuracyHalf: rawHalf, options: opts, recommended: chosen.id, reasons: reasons(rec, chosen) };
  } finally {
    x.dispose();
  }
}
