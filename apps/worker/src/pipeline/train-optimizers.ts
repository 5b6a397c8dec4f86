// The training loop's optimizers: one for the head and, when the base learns
// at its own rate (baseLearningRateMultiplier), one for the base.
import type { NamedTensorMap, Optimizer, Tensor } from '@tensorflow/tfjs';
import type { Hyperparameters } from '../../../shared/jobs/spec.ts';
import { trainableVariables, type Trainable } from './batch-gradients.ts';
import { createOptimizer, setLearningRate } from './optimizers.ts';
import type { OptimizerState } from './train-types.ts';

export class TrainOptimizers {
  readonly head: Optimizer;
  readonly base: Optimizer;
  private readonly multiplier: number;

  constructor(hp: Hyperparameters) {
    this.head = createOptimizer(hp.optimizer, hp.learningRate);
    this.multiplier = hp.baseLearningRateMultiplier ?? 1;
    this.base = this.multiplier === 1 ? this.head : createOptimizer(hp.optimizer, hp.learningRate * this.multiplier);
  }

  /** Head first, then the base's when it has its own: the order of a checkpoint's slots. */
  get all(): Optimizer[] {
    return [this.head, ...(this.base !== this.head ? [this.base] : [])];
  }

  /** Their slots, read on demand (for a checkpoint). */
  state = async (): Promise<OptimizerState> => Promise.all(this.all.map((o) => o.getWeights()));

  async restore(state: OptimizerState): Promise<void> {
    const all = this.all;
    for (let i = 0; i < all.length && i < state.length; i++) await all[i].setWeights(state[i]);
  }

  setLearningRate(lr: number): void {
    setLearningRate(this.head, lr);
    if (this.base !== this.head) setLearningRate(this.base, lr * this.multiplier);
  }

  /** Applies gradients given in trainableVariables() order: the head's, then the base's. */
  apply(parts: Trainable, unfrozen: number, grads: Tensor[]): void {
    const vars = trainableVariables(parts, unfrozen);
    const named = (from: number, to = vars.length) => Object.fromEntries(vars.slice(from, to).map((v, i) => [v.name, grads[from + i]])) as NamedTensorMap;
    const headCount = parts.head.trainableWeights.length;
    if (this.base === this.head) this.head.applyGradients(named(0));
    else {
      this.head.applyGradients(named(0, headCount));
      if (vars.length > headCount) this.base.applyGradients(named(headCount));
    }
  }

  dispose(): void {
    this.all.forEach((o) => o.dispose());
  }
}
