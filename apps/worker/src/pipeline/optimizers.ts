// Optimizers by name, and learning-rate schedules (step, cosine, warm-up).
import type { Optimizer } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Hyperparameters } from '../../../shared/jobs/spec.ts';
import { Adadelta } from './adadelta.ts';
import { Adamax } from './adamax.ts';

/** tfjs 4.22's MomentumOptimizer.dispose forgets the learning-rate scalar it inherits from SGD: one tensor per job. */
class Momentum extends tf.MomentumOptimizer {
  override dispose(): void {
    super.dispose();
    this.c?.dispose();
  }
}

export function createOptimizer(name: Hyperparameters['optimizer'], lr: number): Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return new Momentum(lr, 0.9);
    case 'adam':
      return tf.train.adam(lr);
    case 'adamax':
      return new Adamax(lr);
    case 'adadelta':
      return new Adadelta(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
  }
}

/** Every tfjs optimizer reads its learning rate per step; SGD caches it as a scalar. */
export function setLearningRate(opt: Optimizer, lr: number): void {
  const o = opt as Optimizer & { setLearningRate?: (lr: number) => void; learningRate?: number };
  if (o.learningRate === lr) return;
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** The learning rate at a (fractional) epoch: schedule, then linear warm-up. */
export function learningRateAt(hp: Hyperparameters, epoch: number, batch: number, batchesPerEpoch: number): number {
  const s = hp.schedule ?? { type: 'constant' };
  const t = epoch + batch / batchesPerEpoch;
  let lr = hp.learningRate;
  if (s.type === 'step') lr *= s.factor ** Math.floor(epoch / s.everyEpochs);
  if (s.type === 'cosine') {
    const min = s.minLearningRate ?? 0;
    lr = min + ((hp.learningRate - min) * (1 + Math.cos((Math.PI * t) / hp.epochs))) / 2;
  }
  const warmup = hp.warmupEpochs ?? 0;
  if (warmup > 0 && t < warmup) lr *= (epoch * batchesPerEpoch + batch + 1) / (warmup * batchesPerEpoch);
  return lr;
}
