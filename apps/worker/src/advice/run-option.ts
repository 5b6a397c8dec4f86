// Trains one of the advisor's options on tensors: the base cut and frozen as
// the option says with a head on top, or the scratch architecture. Options
// frozen at the same cut share the features passed in (one forward pass of
// the base for all of them). No job, no storage: the benchmark and the auto
// strategy call it.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { AdviceOption } from '../../../shared/jobs/advice.ts';
import { DEFAULT_HYPERPARAMETERS, type LayerSpec } from '../../../shared/jobs/spec.ts';
import { tf } from '../../../shared/ml/tf.ts';
import type { Features } from '../pipeline/base-features.ts';
import { buildModel } from '../pipeline/build.ts';
import { evaluate } from '../pipeline/evaluate.ts';
import { disposeParts, freeze, type ModelParts } from '../pipeline/freeze.ts';
import { withSeededRandom } from '../pipeline/seed.ts';
import { train } from '../pipeline/train.ts';
import type { TrainData } from '../pipeline/train-types.ts';

export interface OptionData {
  train: TrainData;
  /** Held-out data the option is scored on. */
  test: { x: Tensor; classes: Int32Array };
  labels: string[];
}

export interface OptionSetup {
  /** A fresh copy of the base per call (freeze() consumes the model it cuts). */
  base: () => Promise<LayersModel>;
  head: LayerSpec[];
  /** The whole architecture for `scratch`. */
  scratch: LayerSpec[];
  seed: number;
  /** The frozen cut's features for these options' training (and validation) inputs, computed once per cut. */
  features?: (cutLayer: string) => Promise<Features>;
}

export interface OptionResult {
  id: string;
  valAccuracy: number;
  testAccuracy: number;
  epochsRun: number;
  ms: number;
}

const noHooks = { shouldStop: () => false as const, onEpochEnd: async () => undefined };

export async function runOption(option: AdviceOption, data: OptionData, setup: OptionSetup): Promise<OptionResult> {
  const started = performance.now();
  const shape = data.train.x.shape.slice(1) as number[];
  const numClasses = data.labels.length;
  const parts: ModelParts = await withSeededRandom(setup.seed, async () => {
    if (option.strategy === 'scratch') return buildModel(shape, setup.scratch, numClasses);
    return freeze(await setup.base(), { cutLayer: option.cutLayer, head: setup.head, freeze: option.freeze, numClasses });
  });
  try {
    const hp = { ...DEFAULT_HYPERPARAMETERS, ...option.hyperparameters, seed: setup.seed, validationSplit: 0 };
    const features = option.sharesFeaturePass && option.cutLayer && setup.features ? await setup.features(option.cutLayer) : undefined;
    const result = await train(parts, data.train, { hp, labels: data.labels, features }, noHooks);
    const last = result.epochs.at(-1);
    const test = await evaluate(parts.model, data.test.x, data.test.classes, data.labels, 'test', 512);
    return { id: option.id, valAccuracy: last?.valAccuracy ?? 0, testAccuracy: test.accuracy, epochsRun: result.epochs.length, ms: performance.now() - started };
  } finally {
    disposeParts(parts);
  }
}

export function disposeFeatureSet(f: Features): void {
  tf.dispose([f.train, ...(f.validation ? [f.validation] : [])]);
}
