// What the training loop keeps across epochs: the epochs' results, the best
// epoch (and its weights), early stopping, and why it stopped. A resumed run
// replays the finished epochs so all of it continues as if never interrupted.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Hyperparameters, Monitored } from '../../../shared/jobs/spec.ts';
import { savedModel, type ModelParts } from './freeze.ts';
import type { EpochResult, ResumeFrom, StopReason, TrainResult } from './train-types.ts';

const HIGHER_IS_BETTER = new Set<Monitored>(['accuracy', 'valAccuracy']);

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

export class Progress {
  readonly epochs: EpochResult[] = [];
  stopped: StopReason | null = null;
  earlyStopped = false;
  epochEndMs = 0;
  private readonly best: Tracker;
  private readonly early: Tracker | undefined;
  // Per layer: a layer's weight order holds when its trainable flag changes; the model's does not.
  private bestWeights: Tensor[][] | undefined;

  private constructor(private readonly hp: Hyperparameters, hasValidation: boolean) {
    const monitorDefault: Monitored = hasValidation ? 'valLoss' : 'loss';
    this.best = new Tracker(hp.bestCheckpointMetric ?? monitorDefault);
    this.early = hp.earlyStopping ? new Tracker(hp.earlyStopping.monitor ?? monitorDefault, hp.earlyStopping.minDelta) : undefined;
  }

  static async start(hp: Hyperparameters, hasValidation: boolean, resume?: ResumeFrom): Promise<Progress> {
    const p = new Progress(hp, hasValidation);
    for (const r of resume?.history ?? []) {
      p.epochs.push(r);
      p.best.improved(r[p.best.metric], r.epoch);
      p.checkEarly(r);
    }
    if (resume && p.best.bestEpoch > 0) p.bestWeights = await resume.epochWeights(p.best.bestEpoch);
    return p;
  }

  get running(): boolean {
    return !this.stopped && !this.earlyStopped;
  }

  /** Records a finished epoch; keeps its weights when it is the best so far. */
  record(result: EpochResult, parts: ModelParts): void {
    this.epochs.push(result);
    if (this.best.improved(result[this.best.metric], result.epoch)) {
      tf.dispose(this.bestWeights?.flat() ?? []);
      this.bestWeights = savedModel(parts).layers.map((l) => l.getWeights().map((w) => w.clone()));
    }
  }

  checkEarly(r: EpochResult): void {
    const early = this.early;
    if (early && !early.improved(r[early.metric], r.epoch) && r.epoch - early.bestEpoch > this.hp.earlyStopping!.patience) this.earlyStopped = true;
  }

  /** End with the best epoch's weights, not the last. */
  restoreBest(parts: ModelParts): void {
    const weights = this.bestWeights;
    if (weights && this.best.bestEpoch !== this.epochs.length) savedModel(parts).layers.forEach((l, i) => l.setWeights(weights[i]));
  }

  bestEpoch(): TrainResult['best'] {
    return this.best.best === null ? null : { epoch: this.best.bestEpoch, metric: this.best.metric, value: this.best.best };
  }

  dispose(): void {
    tf.dispose(this.bestWeights?.flat() ?? []);
  }
}
