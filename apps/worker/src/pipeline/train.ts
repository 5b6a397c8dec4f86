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
import { scoreSplit } from './scoring.ts';
import { mapSplit, tensorSplit, type ExampleSplit, type TensorBatch } from './splits.ts';
import { localStep, parallelStep, type BatchStep } from './batch-step.ts';
import type { GradientPeers } from './peers.ts';
import { TrainOptimizers } from './train-optimizers.ts';
import { Progress } from './train-progress.ts';
import { asSplits, type EpochResult, type SplitData, type TrainData, type TrainHooks, type TrainOptions, type TrainPoint, type TrainResult } from './train-types.ts';

export type { BestEpoch, EpochResult, OptimizerState, ResumeFrom, SplitData, StopReason, TrainData, TrainHooks, TrainOptions, TrainPoint, TrainResult } from './train-types.ts';

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
  hp: Hyperparameters;
  hooks: TrainHooks;
  numClasses: number;
  n: number;
  batches: number;
  fastPath: boolean;
  peers?: GradientPeers;
  /** The base's features on the fast path (unless they are computed per batch), else the data. */
  trainSplit: ExampleSplit;
  valSplit?: ExampleSplit;
  /** Per training batch: augmentation, then (fast path) the frozen base. */
  perBatch?: (x: Tensor, ids: Int32Array, epoch: number) => Tensor;
  /** What validation scores: the head on features, else the whole model. */
  scorer: LayersModel;
  optimizers: TrainOptimizers;
  classWeights?: Tensor;
  /** Time the loop waited for the next batch. */
  dataWaitMs: number;
}

/** The training and validation splits, and on the fast path the base's features of them (computed once, or given). */
async function inputs(parts: ModelParts, data: SplitData, opts: TrainOptions, fastPath: boolean, peers?: GradientPeers) {
  const k = opts.labels.length;
  const base = (x: Tensor) => runBase(parts, x, peers);
  const features = async (split: ExampleSplit, given?: Tensor) => tensorSplit(given ?? (await mapSplit(split, base)), split.classes, k);
  // With augmentation the base sees each batch as augmented: its features cannot be computed once.
  const perExample = fastPath && !!opts.augment;
  const trainSplit = fastPath && !perExample ? await features(data.train, opts.features?.train) : data.train;
  const valSplit = data.validation && fastPath ? await features(data.validation, opts.features?.validation) : data.validation;
  const augment = opts.augment;
  const perBatch = augment
    ? (x: Tensor, ids: Int32Array, epoch: number) => tf.tidy(() => {
        const a = augment(x, ids, epoch);
        return perExample ? (parts.base!.predict(a) as Tensor) : a;
      })
    : undefined;
  const owned = [
    ...(trainSplit !== data.train && !opts.features?.train ? [trainSplit.tensor!] : []),
    ...(valSplit && valSplit !== data.validation && !opts.features?.validation ? [valSplit.tensor!] : []),
  ];
  return { trainSplit, valSplit, perBatch, owned };
}

export async function train(parts: ModelParts, given: TrainData | SplitData, opts: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const { hp, labels } = opts;
  const started = performance.now();
  const data = asSplits(given, labels.length);
  const fastPath = !!parts.base && !opts.disableFastPath && frozenThroughout(parts.freeze, parts.baseBlocks.length, hp.epochs);
  const peers = opts.peers && hp.batchSize >= 2 * (opts.peers.size + 1) ? opts.peers : undefined;
  if (peers) await peers.load(parts);
  // On the fast path the frozen base runs once, in inference mode, as it would every batch.
  const { trainSplit, valSplit, perBatch, owned } = await inputs(parts, data, opts, fastPath, peers);
  const optimizers = new TrainOptimizers(hp);
  const classWeights = classWeightVector(hp, labels, data.train.classes);
  const n = data.train.numExamples;
  const run: Run = {
    parts, hp, hooks, numClasses: labels.length, n, batches: Math.ceil(n / hp.batchSize), fastPath, peers,
    trainSplit, valSplit, perBatch, scorer: fastPath ? parts.head : parts.model, optimizers, classWeights, dataWaitMs: 0,
  };
  const progress = await Progress.start(hp, !!data.validation, opts.resume);
  if (opts.stoppedBefore) progress.earlyStopped = true;
  try {
    if (opts.resume) await optimizers.restore(opts.resume.optimizers);
    for (let epoch = opts.resume?.epoch ?? 0; epoch < hp.epochs && progress.running; epoch++) {
      await runEpoch(run, progress, epoch, opts.resume && epoch === opts.resume.epoch ? opts.resume : undefined);
    }
    progress.restoreBest(parts);
  } finally {
    progress.dispose();
    tf.dispose(owned);
    classWeights?.dispose();
    optimizers.dispose();
  }
  return {
    stopped: progress.stopped,
    earlyStopped: progress.earlyStopped,
    epochs: progress.epochs,
    best: progress.bestEpoch(),
    fastPath,
    featuresPerBatch: fastPath && !!perBatch,
    threads: peers ? peers.size + 1 : 1,
    wallTimeMs: Math.round(performance.now() - started),
    epochEndMs: Math.round(progress.epochEndMs),
    dataWaitMs: Math.round(run.dataWaitMs),
  };
}

/** One epoch: its batches, then validation, the epoch's record and the caller's hook. */
async function runEpoch(run: Run, progress: Progress, epoch: number, continuing?: TrainPoint): Promise<void> {
  const { hp, n } = run;
  const epochStart = performance.now();
  const unfrozen = run.parts.base ? applyFreeze(run.parts, epoch) : 0;
  const sums = await runBatches(run, progress, epoch, unfrozen, continuing);
  if (progress.stopped) return;
  const val = run.valSplit ? await scoreSplit(run.scorer, run.valSplit, run.numClasses, Math.max(hp.batchSize, 256)) : undefined;
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
  const stop = await run.hooks.onEpochEnd(result, run.optimizers.state);
  progress.epochEndMs += performance.now() - hookStart;
  progress.checkEarly(result);
  if (stop === 'stop') progress.earlyStopped = true;
}

/** The epoch's batches, in its seeded order, from where a resumed run left off; stops at a batch boundary when asked. */
async function runBatches(run: Run, progress: Progress, epoch: number, unfrozen: number, continuing?: TrainPoint) {
  const { hp, batches } = run;
  let lossSum = continuing ? continuing.lossSum : 0;
  let correct = continuing ? continuing.correct : 0;
  let lr = hp.learningRate;
  const first = continuing ? continuing.batch : 0;
  // The order is a pure function of (seed, epoch): a resumed run starts the same stream at its batch.
  const stream = run.trainSplit.batches({ batchSize: hp.batchSize, seed: hp.seed, epoch, startBatch: first });
  try {
    for (let b = first; b < batches; b++) {
      const reason = await run.hooks.shouldStop();
      if (reason) {
        progress.stopped = reason;
        await run.hooks.onInterrupt?.({ epoch, batch: b, lossSum, correct }, run.optimizers.state);
        break;
      }
      lr = learningRateAt(hp, epoch, b, batches);
      run.optimizers.setLearningRate(lr);
      const waited = performance.now();
      const next = await stream.next();
      run.dataWaitMs += performance.now() - waited;
      if (next.done) throw new Error(`The data ended at batch ${b} of ${batches}`);
      const step = await gradientStep(run, next.value, unfrozen, epoch);
      if (!Number.isFinite(step.loss)) throw diverged(step.loss, epoch, b, progress.epochs.length);
      lossSum += step.loss * next.value.ids.length;
      correct += step.hits;
    }
  } finally {
    await stream.return(undefined);
  }
  return { lossSum, correct, lr };
}

/** One batch's gradients (here, or sharded across the peers), applied. */
async function gradientStep(run: Run, batch: TensorBatch, unfrozen: number, epoch: number): Promise<BatchStep> {
  const { parts, hp } = run;
  // Dropout masks per (seed, epoch, example): the same for any thread count and on resume.
  const opts = { unfrozen, features: run.fastPath, classWeights: run.classWeights, dropout: { seed: hp.seed, epoch } };
  const x = run.perBatch ? run.perBatch(batch.x, batch.ids, epoch) : batch.x;
  const rows = { x, y: batch.y, batch: Int32Array.from(batch.ids, (_, i) => i), ids: batch.ids };
  try {
    const step = run.peers ? await parallelStep(run.peers, parts, rows, opts) : localStep(parts, rows, opts);
    run.optimizers.apply(parts, unfrozen, step.grads);
    tf.dispose(step.grads);
    return step;
  } finally {
    tf.dispose([batch.x, batch.y, x]);
  }
}

function diverged(loss: number, epoch: number, b: number, finished: number): UnprocessableError {
  return new UnprocessableError(
    'training_diverged',
    `The loss became ${loss} in epoch ${epoch + 1}, batch ${b + 1}; the job keeps its last good checkpoint (epoch ${finished || 'none'})`,
    { epoch: epoch + 1, batch: b + 1, lastGoodEpoch: finished || null },
  );
}
