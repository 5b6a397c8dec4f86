// The Keras mnist_transfer_cnn recipe as our layer specs and hyperparameters
// (the benchmark's and the demo's).
import { DEFAULT_HYPERPARAMETERS, type Hyperparameters, type LayerSpec } from '../shared/jobs/spec.ts';

/** conv32 3×3 → ReLU → conv32 3×3 → ReLU → maxpool 2 → dropout 0.25 → flatten: the base. */
export const FEATURES: LayerSpec[] = [
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv1' },
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv2' },
  { type: 'maxPooling2d', poolSize: 2, name: 'pool' },
  { type: 'dropout', rate: 0.25, name: 'drop1' },
  { type: 'flatten', name: 'flatten' },
];
/** dense128 → ReLU → dropout 0.5 → dense5: the head. */
export const CLASSIFIER: LayerSpec[] = [
  { type: 'dense', units: 128, activation: 'relu' },
  { type: 'dropout', rate: 0.5 },
  { type: 'dense', units: 5, activation: 'softmax' },
];
/** Adadelta (lr 1.0), batch 128, no validation split: as the recipe. */
export const recipeHp = (epochs: number, seed: number): Hyperparameters => ({
  ...DEFAULT_HYPERPARAMETERS, epochs, seed, batchSize: 128, optimizer: 'adadelta', learningRate: 1.0, validationSplit: 0,
});
