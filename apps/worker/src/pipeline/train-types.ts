// What the training loop takes and gives: data, options, hooks, and the
// results and resume points it reports.
import type { Optimizer, Tensor } from '@tensorflow/tfjs';
import type { Hyperparameters, Monitored } from '../../../shared/jobs/spec.ts';
import type { Features } from './base-features.ts';
import type { GradientPeers } from './peers.ts';
import { tensorSplit, type ExampleSplit } from './splits.ts';

export interface TrainData {
  x: Tensor;
  /** One-hot labels. */
  y: Tensor;
  classes: Int32Array;
  valX?: Tensor;
  valClasses?: Int32Array;
}

/** The data as splits read in batches (held in memory or streamed). */
export interface SplitData {
  train: ExampleSplit;
  validation?: ExampleSplit;
}

/** Tensors (tests, small data) as splits held in memory. */
export function asSplits(data: TrainData | SplitData, numClasses: number): SplitData {
  if ('train' in data) return data;
  return {
    train: tensorSplit(data.x, data.classes, numClasses),
    validation: data.valX && data.valClasses ? tensorSplit(data.valX, data.valClasses, numClasses) : undefined,
  };
}

/** Seeded per (epoch, example): a batch's training inputs augmented; never applied to validation or evaluation. */
export type Augment = (x: Tensor, ids: Int32Array, epoch: number) => Tensor;

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
  /** 'stop': training ends after this epoch as if early stopping had stopped it (a sweep's ASHA, docs/sweeps.md). */
  onEpochEnd(result: EpochResult, optimizers: () => Promise<OptimizerState>): Promise<void | 'stop'>;
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
  /** On the fast path with augmentation: the frozen base ran on every augmented batch instead of once. */
  featuresPerBatch: boolean;
  /** Threads that computed gradients (1 without peers). */
  threads: number;
  wallTimeMs: number;
  /** Of the wall time, what hooks.onEpochEnd took (the caller's checkpoint writes). */
  epochEndMs: number;
  /** Of the wall time, what the loop spent waiting for its next batch (reads not yet done). */
  dataWaitMs: number;
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
  /** A stop decided before this resume (a sweep's ASHA, docs/sweeps.md): no epoch runs; it ends as if onEpochEnd had said stop. */
  stoppedBefore?: boolean;
  /** Training batches only; with a frozen base, the base then runs per batch (features cannot be computed once). */
  augment?: Augment;
}
