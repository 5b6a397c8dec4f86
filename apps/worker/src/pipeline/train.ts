// Stage 3, train: a seeded training loop over the model's parts. It runs a
// frozen base once (the fast path), trains unfrozen base layers at their own
// learning rate, follows the schedule, weights classes, stops early, keeps the
// best epoch's weights, stops on divergence, and checks for a stop request
// after every batch.
import type { NamedTensorMap, Optimizer, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { Hyperparameters, Monitored } from '../../../shared/jobs/spec.ts';
import { applyFreeze, frozenThroughout, type ModelParts } from './freeze.ts';
import { runBase, type Features } from './base-features.ts';
import { createOptimizer, learningRateAt, setLearningRate } from './optimizers.ts';
import { score } from './scoring.ts';
import { shuffledIndices } from './seed.ts';
import { trainableVariables } from './batch-gradients.ts';
import { localStep, parallelStep } from './batch-step.ts';
import type { GradientPeers } from './peers.ts';

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

/** Why training stopped before its last epoch (early stopping aside). */
export type StopReason = 'cancel' | 'pause' | 'shutdown' | 'lease_lost';

/** Where training stands between two batches: with the weights, enough to resume exactly. */
export interface TrainPoint {
  /** 0-based epoch in progress (or next to start, with batch 0). */
  epoch: number;
  /** Batches of that epoch already done. */
  batch: number;
  lossSum: number;
  correct: number;
}

type NamedTensor = Awaited<ReturnType<Optimizer['getWeights']>>[number];
/** Optimizer slots (head optimizer, then the base's when it has its own), read on demand. */
export type OptimizerState = NamedTensor[][];

export interface TrainHooks {
  onEpochEnd(result: EpochResult, optimizers: () => Promise<OptimizerState>): Promise<void>;
  /** Asked after every batch; a reason stops training at that batch boundary. */
  shouldStop(): StopReason | false | Promise<StopReason | false>;
  /** Called once when shouldStop stopped it, before the optimizers are gone: where to resume from. */
  onInterrupt?(point: TrainPoint, optimizers: () => Promise<OptimizerState>): Promise<void>;
}

/** A checkpoint to continue from: the model already holds its weights. */
export interface ResumeFrom extends TrainPoint {
  /** The finished epochs' results, oldest first. */
  history: EpochResult[];
  optimizers: OptimizerState;
  /** Per layer, the weights a finished epoch's checkpoint holds (for the best epoch so far). */
  epochWeights(epoch: number): Promise<Tensor[][]>;
}

export interface BestEpoch {
  epoch: number;
  metric: Monitored;
  value: number;
}

export interface TrainResult {
  stopped: StopReason | null;
  earlyStopped: boolean;
  epochs: EpochResult[];
  /** The epoch whose weights the model ends with. */
  best: BestEpoch | null;
  /** True when a frozen base ran once over the data instead of every batch. */
  fastPath: boolean;
  /** Threads that computed gradients (1 without peers). */
  threads: number;
  wallTimeMs: number;
  /** Of the wall time, what hooks.onEpochEnd took (the caller's checkpoint writes). */
  epochEndMs: number;
}

export interface TrainOptions {
  hp: Hyperparameters;
  labels: string[];
  /** The frozen base's features from a source (the feature cache); used only on the fast path. Else computed here. */
  features?: Features;
  /** Run the frozen base every batch even when it could run once (tests prove both agree). */
  disableFastPath?: boolean;
  /** Threads that each take a shard of every batch (data-parallel); none trains on this thread alone. */
  peers?: GradientPeers;
  resume?: ResumeFrom;
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
  const fastPath = !!base && !opts.disableFastPath && frozenThroughout(parts.freeze, parts.baseBlocks.length, hp.epochs);

  // On the fast path the frozen base runs once, in inference mode, as it would every batch.
  const ownsFeatures = fastPath && !opts.features;
  const peers = opts.peers && hp.batchSize >= 2 * (opts.peers.size + 1) ? opts.peers : undefined;
  if (peers) await peers.load(parts);
  const baseOutput = (x: Tensor) => runBase(parts, x, peers);
  const trainInput = fastPath ? (opts.features?.train ?? (await baseOutput(data.x))) : data.x;
  const valInput = data.valX && fastPath ? (opts.features?.validation ?? (await baseOutput(data.valX))) : data.valX;
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
  const resume = opts.resume;
  const epochs: EpochResult[] = [...(resume?.history ?? [])];
  // Replay the finished epochs, so tracking and early stopping continue as if never interrupted.
  let earlyStopped = false;
  for (const r of epochs) {
    best.improved(metricOf(r, best.metric), r.epoch);
    if (early && !early.improved(metricOf(r, early.metric), r.epoch) && r.epoch - early.bestEpoch > hp.earlyStopping!.patience) earlyStopped = true;
  }
  if (resume && best.bestEpoch > 0) bestWeights = await resume.epochWeights(best.bestEpoch);
  const optimizerState = async (): Promise<OptimizerState> => Promise.all([headOpt, ...(baseOpt !== headOpt ? [baseOpt] : [])].map((o) => o.getWeights()));
  let stopped: StopReason | null = null;
  let epochEndMs = 0;
  try {
    if (resume) await restoreOptimizers([headOpt, ...(baseOpt !== headOpt ? [baseOpt] : [])], resume.optimizers);
    for (let epoch = resume?.epoch ?? 0; epoch < hp.epochs && !stopped && !earlyStopped; epoch++) {
      const epochStart = performance.now();
      const unfrozen = base ? applyFreeze(parts, epoch) : 0;
      const order = shuffledIndices(n, hp.seed + epoch + 1);
      const continuing = resume && epoch === resume.epoch;
      let lossSum = continuing ? resume.lossSum : 0;
      let correct = continuing ? resume.correct : 0;
      let lr = hp.learningRate;
      for (let b = continuing ? resume.batch : 0; b < batches; b++) {
        const reason = await hooks.shouldStop();
        if (reason) {
          stopped = reason;
          await hooks.onInterrupt?.({ epoch, batch: b, lossSum, correct }, optimizerState);
          break;
        }
        lr = learningRateAt(hp, epoch, b, batches);
        setLearningRate(headOpt, lr);
        if (baseOpt !== headOpt) setLearningRate(baseOpt, lr * multiplier);
        const batch = order.subarray(b * hp.batchSize, Math.min(n, (b + 1) * hp.batchSize));
        const size = batch.length;
        // Dropout masks per (seed, epoch, example): the same for any thread count and on resume.
        const opts = { unfrozen, features: fastPath, classWeights: weights, dropout: { seed: hp.seed, epoch } };
        const step = peers
          ? await parallelStep(peers, parts, { x: trainInput, y: data.y, batch }, opts)
          : localStep(parts, { x: trainInput, y: data.y, batch }, opts);
        const vars = trainableVariables(parts, unfrozen);
        const named = (from: number, to = vars.length) => Object.fromEntries(vars.slice(from, to).map((v, i) => [v.name, step.grads[from + i]])) as NamedTensorMap;
        const headCount = parts.head.trainableWeights.length;
        if (baseOpt === headOpt) headOpt.applyGradients(named(0));
        else {
          headOpt.applyGradients(named(0, headCount));
          if (vars.length > headCount) baseOpt.applyGradients(named(headCount));
        }
        tf.dispose(step.grads);
        const [lossV, hitsV] = [step.loss, step.hits];
        if (!Number.isFinite(lossV)) {
          throw new UnprocessableError(
            'training_diverged',
            `The loss became ${lossV} in epoch ${epoch + 1}, batch ${b + 1}; the job keeps its last good checkpoint (epoch ${epochs.length || 'none'})`,
            { epoch: epoch + 1, batch: b + 1, lastGoodEpoch: epochs.length || null },
          );
        }
        lossSum += lossV * size;
        correct += hitsV;
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
        bestWeights = snapshot(parts);
      }
      const hookStart = performance.now();
      await hooks.onEpochEnd(result, optimizerState);
      epochEndMs += performance.now() - hookStart;
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
    threads: peers ? peers.size + 1 : 1,
    wallTimeMs: Math.round(performance.now() - started),
    epochEndMs: Math.round(epochEndMs),
  };
}

/** Per layer: a layer's weight order holds when its trainable flag changes; the model's does not. */
function snapshot(parts: ModelParts): Tensor[][] {
  return parts.model.layers.map((l) => l.getWeights().map((w) => w.clone()));
}

async function restoreOptimizers(optimizers: Optimizer[], state: OptimizerState): Promise<void> {
  for (let i = 0; i < optimizers.length && i < state.length; i++) await optimizers[i].setWeights(state[i]);
}
