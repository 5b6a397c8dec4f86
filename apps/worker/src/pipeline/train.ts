// Stage 3, train: a seeded training loop over the model's parts. It runs a
// frozen base once (the fast path), trains unfrozen base layers at their own
// learning rate, follows the schedule, weights classes, stops early, keeps the
// best epoch's weights, stops on divergence, and checks for a stop request
// after every batch.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { Hyperparameters } from '../../../shared/jobs/spec.ts';
import { applyFreeze, frozenThroughout, type ModelParts } from './freeze.ts';
import { runBase } from './base-features.ts';
import { learningRateAt } from './optimizers.ts';
import { score } from './scoring.ts';
import { shuffledIndices } from './seed.ts';
import { localStep, parallelStep, type BatchStep } from './batch-step.ts';
import type { GradientPeers } from './peers.ts';
import { TrainOptimizers } from './train-optimizers.ts';
import { Progress } from './train-progress.ts';
import type { EpochResult, TrainData, TrainHooks, TrainOptions, TrainPoint, TrainResult } from './train-types.ts';

export type { BestEpoch, EpochResult, OptimizerState, ResumeFrom, StopReason, TrainData, TrainHooks, TrainOptions, TrainPoint, TrainResult } from './train-types.ts';

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

/** One training run's fixed parts, shared by its epochs and batches. */
interface Run {
  parts: ModelParts;
  data: TrainData;
  hp: Hyperparameters;
  hooks: TrainHooks;
  numClasses: number;
  n: number;
  batches: number;
  fastPath: boolean;
  peers?: GradientPeers;
  /** The base's features on the fast path, else data.x (and data.valX). */
  trainInput: Tensor;
  valInput?: Tensor;
  /** What validation scores: the head on features, else the whole model. */
  scorer: LayersModel;
  optimizers: TrainOptimizers;
  classWeights?: Tensor;
}

export async function train(parts: ModelParts, data: TrainData, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const { hp, labels } = opts;
  const started = performance.now();
  const fastPath = !!parts.base && !opts.disableFastPath && frozenThroughout(parts.freeze, parts.baseBlocks.length, hp.epochs);
  const peers = opts.peers && hp.batchSize >= 2 * (opts.peers.size + 1) ? opts.peers : undefined;
  if (peers) await peers.load(parts);
  // On the fast path the frozen base runs once, in inference mode, as it would every batch.
  const ownsFeatures = fastPath && !opts.features;
  const trainInput = fastPath ? (opts.features?.train ?? (await runBase(parts, data.x, peers))) : data.x;
  const valInput = data.valX && fastPath ? (opts.features?.validation ?? (await runBase(parts, data.valX, peers))) : data.valX;
  const optimizers = new TrainOptimizers(hp);
  const classWeights = classWeightVector(hp, labels, data.classes);
  const n = data.x.shape[0];
  const run: Run = {
    parts, data, hp, hooks, numClasses: labels.length, n, batches: Math.ceil(n / hp.batchSize), fastPath, peers,
    trainInput, valInput, scorer: fastPath ? parts.head : parts.model, optimizers, classWeights,
  };
  const progress = await Progress.start(hp, !!data.valX, opts.resume);
  try {
    if (opts.resume) await optimizers.restore(opts.resume.optimizers);
    for (let epoch = opts.resume?.epoch ?? 0; epoch < hp.epochs && progress.running; epoch++) {
      await runEpoch(run, progress, epoch, opts.resume && epoch === opts.resume.epoch ? opts.resume : undefined);
    }
    progress.restoreBest(parts);
  } finally {
    progress.dispose();
    if (ownsFeatures) tf.dispose([trainInput, ...(valInput && valInput !== data.valX ? [valInput] : [])]);
    classWeights?.dispose();
    optimizers.dispose();
  }
  return {
    stopped: progress.stopped,
    earlyStopped: progress.earlyStopped,
    epochs: progress.epochs,
    best: progress.bestEpoch(),
    fastPath,
    threads: peers ? peers.size + 1 : 1,
    wallTimeMs: Math.round(performance.now() - started),
    epochEndMs: Math.round(progress.epochEndMs),
  };
}

/** One epoch: its batches, then validation, the epoch's record and the caller's hook. */
async function runEpoch(run: Run, progress: Progress, epoch: number, continuing?: TrainPoint): Promise<void> {
  const { hp, data, n } = run;
  const epochStart = performance.now();
  const unfrozen = run.parts.base ? applyFreeze(run.parts, epoch) : 0;
  const sums = await runBatches(run, progress, epoch, unfrozen, continuing);
  if (progress.stopped) return;
  const val = run.valInput && data.valClasses ? await score(run.scorer, run.valInput, data.valClasses, run.numClasses, Math.max(hp.batchSize, 256)) : undefined;
  const durationMs = performance.now() - epochStart;
  const result: EpochResult = {
    epoch: epoch + 1,
    loss: sums.lossSum / n,
    accuracy: sums.correct / n,
    valLoss: val?.loss ?? null,
    valAccuracy: val?.accuracy ?? null,
    durationMs: Math.round(durationMs),
    examplesPerSec: n / (durationMs / 1000),
    learningRate: sums.lr,
    unfrozenBaseLayers: unfrozen,
  };
  progress.record(result, run.parts);
  const hookStart = performance.now();
  await run.hooks.onEpochEnd(result, run.optimizers.state);
  progress.epochEndMs += performance.now() - hookStart;
  progress.checkEarly(result);
}

/** The epoch's batches, in its seeded order, from where a resumed run left off; stops at a batch boundary when asked. */
async function runBatches(run: Run, progress: Progress, epoch: number, unfrozen: number, continuing?: TrainPoint) {
  const { hp, n, batches } = run;
  const order = shuffledIndices(n, hp.seed + epoch + 1);
  let lossSum = continuing ? continuing.lossSum : 0;
  let correct = continuing ? continuing.correct : 0;
  let lr = hp.learningRate;
  for (let b = continuing ? continuing.batch : 0; b < batches; b++) {
    const reason = await run.hooks.shouldStop();
    if (reason) {
      progress.stopped = reason;
      await run.hooks.onInterrupt?.({ epoch, batch: b, lossSum, correct }, run.optimizers.state);
      break;
    }
    lr = learningRateAt(hp, epoch, b, batches);
    run.optimizers.setLearningRate(lr);
    const batch = order.subarray(b * hp.batchSize, Math.min(n, (b + 1) * hp.batchSize));
    const step = await gradientStep(run, batch, unfrozen, epoch);
    if (!Number.isFinite(step.loss)) throw diverged(step.loss, epoch, b, progress.epochs.length);
    lossSum += step.loss * batch.length;
    correct += step.hits;
  }
  return { lossSum, correct, lr };
}

/** One batch's gradients (here, or sharded across the peers), applied. */
async function gradientStep(run: Run, batch: Int32Array, unfrozen: number, epoch: number): Promise<BatchStep> {
  const { parts, hp } = run;
  // Dropout masks per (seed, epoch, example): the same for any thread count and on resume.
  const opts = { unfrozen, features: run.fastPath, classWeights: run.classWeights, dropout: { seed: hp.seed, epoch } };
  const rows = { x: run.trainInput, y: run.data.y, batch };
  const step = run.peers ? await parallelStep(run.peers, parts, rows, opts) : localStep(parts, rows, opts);
  run.optimizers.apply(parts, unfrozen, step.grads);
  tf.dispose(step.grads);
  return step;
}

function diverged(loss: number, epoch: number, b: number, finished: number): UnprocessableError {
  return new UnprocessableError(
    'training_diverged',
    `The loss became ${loss} in epoch ${epoch + 1}, batch ${b + 1}; the job keeps its last good checkpoint (epoch ${finished || 'none'})`,
    { epoch: epoch + 1, batch: b + 1, lastGoodEpoch: finished || null },
  );
}
