// Stage 3, train: fit with the job's hyperparameters, reporting every epoch
// and stopping at a batch boundary when asked to.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Hyperparameters } from '../../../shared/jobs/spec.ts';

export interface TrainData {
  x: Tensor;
  /** One-hot labels. */
  y: Tensor;
  valX?: Tensor;
  valY?: Tensor;
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
}

export interface TrainHooks {
  onEpochEnd(result: EpochResult): Promise<void>;
  /** Asked after every batch; true stops training at that batch boundary. */
  shouldStop(): boolean | Promise<boolean>;
}

export interface TrainResult {
  stopped: boolean;
  epochs: EpochResult[];
}

export function createOptimizer(name: Hyperparameters['optimizer'], lr: number) {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return tf.train.momentum(lr, 0.9);
    case 'adam':
      return tf.train.adam(lr);
    case 'adamax':
      return tf.train.adamax(lr);
    case 'adadelta':
      return tf.train.adadelta(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export async function train(model: LayersModel, data: TrainData, hp: Hyperparameters, hooks: TrainHooks): Promise<TrainResult> {
  model.compile({ optimizer: createOptimizer(hp.optimizer, hp.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const epochs: EpochResult[] = [];
  const examples = data.x.shape[0];
  let stopped = false;
  let epochStart = 0;
  await model.fit(data.x, data.y, {
    epochs: hp.epochs,
    batchSize: hp.batchSize,
    shuffle: true,
    validationData: data.valX && data.valY ? [data.valX, data.valY] : undefined,
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => {
        epochStart = performance.now();
      },
      onBatchEnd: async () => {
        if (await hooks.shouldStop()) {
          stopped = true;
          model.stopTraining = true;
        }
      },
      onEpochEnd: async (epoch, logs = {}) => {
        const durationMs = performance.now() - epochStart;
        const result: EpochResult = {
          epoch: epoch + 1,
          loss: Number(logs.loss),
          accuracy: num(logs.acc),
          valLoss: num(logs.val_loss),
          valAccuracy: num(logs.val_acc),
          durationMs: Math.round(durationMs),
          examplesPerSec: examples / (durationMs / 1000),
        };
        // A stopped epoch is partial: it gets neither metrics nor a checkpoint.
        if (stopped) return;
        epochs.push(result);
        await hooks.onEpochEnd(result);
      },
    },
  });
  return { stopped, epochs };
}
