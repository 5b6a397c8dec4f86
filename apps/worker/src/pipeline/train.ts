// Stage 3, train: a seeded training loop over the model's parts. It runs a
// frozen base once (the fast path), trains unfrozen base layers at their own
// learning rate, follows the schedule, weights classes, stops early, keeps the
// best epoch's weights, stops on divergence, and checks for a stop request
// after every batch.
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { Hyperparameters, Monitored } from '../../../shared/jobs/spec.ts';
import { applyFreeze, unfrozenBlocks, type ModelParts } from './freeze.ts';
import { createOptimizer, learningRateAt, setLearningRate } from './optimizers.ts';
import { predictBatched, score } from './scoring.ts';
import { shuffledIndices } from './seed.ts';

export interface TrainData {
  x: Tensor;
  /** One-hot labels. */
  y: Tensor;
  classes: Int32Array;
  valX?: Tensor;
  valClasses?: Int32Array;
}

export interface EpochResult {
  /** 1-based. */
  epoch: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  durationMs: number;
  examplesPerSec: number;
  learningRate: number;
  unfrozenBaseLayers: number;
}

export interface TrainHooks {
  onEpochEnd(result: EpochResult): Promise<void>;
  /** Asked after every batch; true stops training at that batch boundary. */
  shouldStop(): boolean | Promise<boolean>;
}

export interface BestEpoch {
  epoch: number;
  metric: Monitored;
  value: number;
}

export interface TrainResult {
  stopped: boolean;
  earlyStopped: boolean;
  epochs: EpochResult[];
  /** The epoch whose weights the model ends with. */
  best: BestEpoch | null;
  /** True when a frozen base ran once over the data instead of every batch. */
  fastPath: boolean;
  wallTimeMs: number;
}

export interface TrainOptions {
  hp: Hyperparameters;
  labels: string[];
  /** Base features computed elsewhere (e.g. a cache); used only on the fast path. */
  features?: { train: Tensor; validation?: Tensor };
  /** Run the frozen base every batch even when it could run once (tests prove both agree). */
  disableFastPath?: boolean;
}

/**
 * Trainable base variables from the top block down. tfjs optimizers keep their
 * slots by position, so layers unfrozen later must come after those already training.
 */
function baseVariables(parts: ModelParts): Variable[] {
  return [...parts.baseBlocks].reverse().flatMap((l) => l.trainableWeights.map((w) => w.read() as Variable));
}

const HIGHER_IS_BETTER = new Set<Monitored>(['accuracy', 'valAccuracy']);

function classWeightVector(hp: Hyperparameters, labels: string[], classes: Int32Array): Tensor | undefined {
  const cw = hp.classWeights;
  if (!cw) return undefined;
  if (cw === 'balanced') {
    const counts = new Array<number>(labels.length).fill(0);
    for (const c of classes) counts[c]++;
    return tf.tensor1d(counts.map((n) => (n === 0 ? 0 : classes.length / (labels.length * n))));
  }
  return tf.tensor1d(labels.map((l) => cw[l] ?? 1));
}

/** Tracks a monitored metric: improved() is true when it beats the best by more than minDelta. */
class Tracker {
  best: number | null = null;
  bestEpoch = 0;
  constructor(
    readonly metric: Monitored,
    private readonly minDelta = 0,
  ) {}
  improved(value: number | null, epoch: number): boolean {
    if (value === null) return false;
    const higher = HIGHER_IS_BETTER.has(this.metric);
    const better = this.best === null || (higher ? value > this.best + this.minDelta : value < this.best - this.minDelta);
    if (better) {
      this.best = value;
      this.bestEpoch = epoch;
    }
    return better;
  }
}

function metricOf(r: EpochResult, m: Monitored): number | null {
  return r[m];
}

export async function train(parts: ModelParts, data: TrainData, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const { hp, labels } = opts;
  const started = performance.now();
  const k = labels.length;
  const n = data.x.shape[0];
  const batches = Math.ceil(n / hp.batchSize);
  const base = parts.base;
  const fastPath = !!base && !opts.disableFastPath && Array.from({ length: hp.epochs }, (_, e) => unfrozenBlocks(parts.freeze, parts.baseBlocks.length, e)).every((b) => b === 0);

  // On the fast path the frozen base runs once, in inference mode, as it would every batch.
  const ownsFeatures = fastPath && !opts.features;
  const trainInput = fastPath ? (opts.features?.train ?? predictBatched(base!, data.x)) : data.x;
  const valInput = data.valX && fastPath ? (opts.features?.validation ?? predictBatched(base!, data.valX)) : data.valX;
  const scorer = fastPath ? parts.head : parts.model;

  const headOpt = createOptimizer(hp.optimizer, hp.learningRate);
  const multiplier = hp.baseLearningRateMultiplier ?? 1;
  const baseOpt = multiplier === 1 ? headOpt : createOptimizer(hp.optimizer, hp.learningRate * multiplier);
  const weights = classWeightVector(hp, labels, data.classes);

  const monitorDefault: Monitored = data.valX ? 'valLoss' : 'loss';
  const best = new Tracker(hp.bestCheckpointMetric ?? monitorDefault);
  const early = hp.earlyStopping ? new Tracker(hp.earlyStopping.monitor ?? monitorDefault, hp.earlyStopping.minDelta) : undefined;
  // Per layer: a layer's weight order holds when its trainable flag changes; the model's does not.
  let bestWeights: Tensor[][] | undefined;

  const epochs: EpochResult[] = [];
  let stopped = false;
  let earlyStopped = false;
  try {
    for (let epoch = 0; epoch < hp.epochs && !stopped && !earlyStopped; epoch++) {
      const epochStart = performance.now();
      const unfrozen = base ? applyFreeze(parts, epoch) : 0;
      const order = shuffledIndices(n, hp.seed + epoch + 1);
      let lossSum = 0;
      let correct = 0;
      let lr = hp.learningRate;
      for (let b = 0; b < batches; b++) {
        if (await hooks.shouldStop()) {
          stopped = true;
          break;
        }
        lr = learningRateAt(hp, epoch, b, batches);
        setLearningRate(headOpt, lr);
        if (baseOpt !== headOpt) setLearningRate(baseOpt, lr * multiplier);
        const idx = tf.tensor1d(order.subarray(b * hp.batchSize, Math.min(n, (b + 1) * hp.batchSize)), 'int32');
        const size = idx.shape[0];
        const [lossT, correctT] = tf.tidy(() => {
          const xb = tf.gather(trainInput, idx);
          const yb = tf.gather(data.y, idx);
          const headVars = parts.head.trainableWeights.map((w) => w.read() as Variable);
          const baseVars = unfrozen > 0 ? baseVariables(parts) : [];
          let hits: Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const features = base && !fastPath ? (base.apply(xb, { training: unfrozen > 0 }) as Tensor) : xb;
            const probs = parts.head.apply(features, { training: true }) as Tensor;
            hits = tf.keep(tf.equal(probs.argMax(-1), yb.argMax(-1)).sum());
            // Unclipped (only an epsilon), so a NaN from the model shows up in the loss.
            const ce = tf.neg(tf.sum(tf.mul(yb, tf.log(tf.add(probs, 1e-7))), -1));
            const perExample = weights ? ce.mul(tf.gather(weights, yb.argMax(-1))) : ce;
            return perExample.mean() as tf.Scalar;
          }, [...headVars, ...baseVars]);
          const pick = (vars: Variable[]) => Object.fromEntries(vars.map((v) => [v.name, grads[v.name]])) as NamedTensorMap;
          if (baseOpt === headOpt) headOpt.applyGradients(pick([...headVars, ...baseVars]));
          else {
            headOpt.applyGradients(pick(headVars));
            if (baseVars.length > 0) baseOpt.applyGradients(pick(baseVars));
          }
          return [value, hits!];
        });
        idx.dispose();
        const [lossV, hitsV] = await Promise.all([lossT.data(), correctT.data()]);
        tf.dispose([lossT, correctT]);
        if (!Number.isFinite(lossV[0])) {
          throw new UnprocessableError(
            'training_diverged',
            `The loss became ${lossV[0]} in epoch ${epoch + 1}, batch ${b + 1}; the job keeps its last good checkpoint (epoch ${epochs.length || 'none'})`,
            { epoch: epoch + 1, batch: b + 1, lastGoodEpoch: epochs.length || null },
          );
        }
        lossSum += lossV[0] * size;
        correct += hitsV[0];
      }
      if (stopped) break;

      const val = valInput && data.valClasses ? await score(scorer, valInput, data.valClasses, k, Math.max(hp.batchSize, 256)) : undefined;
      const durationMs = performance.now() - epochStart;
      const result: EpochResult = {
        epoch: epoch + 1,
        loss: lossSum / n,
        accuracy: correct / n,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.accuracy ?? null,
        durationMs: Math.round(durationMs),
        examplesPerSec: n / (durationMs / 1000),
        learningRate: lr,
        unfrozenBaseLayers: unfrozen,
      };
      epochs.push(result);
      if (best.improved(metricOf(result, best.metric), result.epoch)) {
        tf.dispose(bestWeights?.flat() ?? []);
        bestWeights = parts.model.layers.map((l) => l.getWeights().map((w) => w.clone()));
      }
      await hooks.onEpochEnd(result);
      if (early && !early.improved(metricOf(result, early.metric), result.epoch) && result.epoch - early.bestEpoch > hp.earlyStopping!.patience) {
        earlyStopped = true;
      }
    }
    // End with the best epoch's weights, not the last.
    if (bestWeights && best.bestEpoch !== epochs.length) parts.model.layers.forEach((l, i) => l.setWeights(bestWeights![i]));
  } finally {
    tf.dispose(bestWeights?.flat() ?? []);
    if (ownsFeatures) tf.dispose([trainInput, ...(valInput && valInput !== data.valX ? [valInput] : [])]);
    weights?.dispose();
    headOpt.dispose();
    if (baseOpt !== headOpt) baseOpt.dispose();
  }
  return {
    stopped,
    earlyStopped,
    epochs,
    best: best.best === null ? null : { epoch: best.bestEpoch, metric: best.metric, value: best.best },
    fastPath,
    wallTimeMs: Math.round(performance.now() - started),
  };
}
