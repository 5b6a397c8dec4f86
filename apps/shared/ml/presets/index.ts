// Backbone presets for pretraining (`architecture: {preset, alpha, inputShape}`):
// the real architectures with Keras' layer names, plus a classification head.
// mnistCnn is the demo's convnet (the Keras mnist_transfer_cnn recipe) and
// becomes ordinary layer specs; the MobileNets are Functional topologies,
// built as plain data here and by tf.models.modelFromJSON in the worker.
import { UnprocessableError } from '../../errors.ts';
import type { LayerSpec, PresetSpec } from '../../jobs/spec.ts';
import { mobileNetV2 } from './mobilenet-v2.ts';
import { mobileNetV3Small } from './mobilenet-v3-small.ts';
import { TopologyBuilder, type BuiltTopology } from './topology.ts';

export type { BuiltTopology } from './topology.ts';

/** The Keras mnist_transfer_cnn recipe, named as in Keras' fixture (conv1 … flatten, dense1, drop2, predictions). */
export function mnistCnnLayers(numClasses: number): LayerSpec[] {
  return [
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv1' },
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv2' },
    { type: 'maxPooling2d', poolSize: 2, name: 'pool' },
    { type: 'dropout', rate: 0.25, name: 'drop1' },
    { type: 'flatten', name: 'flatten' },
    { type: 'dense', units: 128, activation: 'relu', name: 'dense1' },
    { type: 'dropout', rate: 0.5, name: 'drop2' },
    { type: 'dense', units: numClasses, activation: 'softmax', name: 'predictions' },
  ];
}

/**
 * A MobileNet preset's topology. With `numClasses`, Keras' include_top head
 * (global average pooling, then `predictions`, softmax); without, the backbone
 * with pooling="avg" (what Keras builds with include_top=False, pooling="avg").
 * Throws RangeError when the input is too small for the architecture.
 */
export function presetTopology(spec: PresetSpec, inputShape: number[], numClasses?: number): BuiltTopology {
  const b = new TopologyBuilder();
  const alpha = spec.alpha ?? 1;
  if (spec.preset === 'mnistCnn') throw new Error('mnistCnn is layer specs, not a topology');
  const v2 = spec.preset === 'mobilenetV2';
  const { input, output } = (v2 ? mobileNetV2 : mobileNetV3Small)(b, inputShape, alpha);
  // Keras' names: include_top's pooling in V2, pooling="avg"'s in V3.
  let x = b.globalAveragePool(output, v2 ? b.autoName('global_average_pooling2d') : 'avg_pool');
  if (numClasses !== undefined) x = b.dense(x, 'predictions', numClasses, 'softmax');
  return b.build(v2 ? `mobilenetv2_${alpha.toFixed(2)}_${inputShape[0]}` : 'MobileNetV3Small', input, x);
}

export interface PresetPlan {
  /** What the job stores: layer specs (mnistCnn), or the preset with its input shape and alpha filled in. */
  architecture: LayerSpec[] | PresetSpec;
  /** For a MobileNet: its size, for the API's limits. */
  built?: BuiltTopology;
}

/** Checks a preset against the training set's example shape, without tfjs. */
export function planPreset(spec: PresetSpec, featureShape: number[], numClasses: number): PresetPlan {
  const inputShape = spec.inputShape ?? featureShape;
  if (inputShape.length !== featureShape.length || inputShape.some((d, i) => d !== featureShape[i])) {
    throw new UnprocessableError('input_shape_mismatch', `The preset's inputShape is [${inputShape}], the dataset's examples are [${featureShape}]`, { expected: featureShape, actual: inputShape });
  }
  if (spec.preset === 'mnistCnn') return { architecture: mnistCnnLayers(numClasses) };
  if (inputShape.length !== 3) throw new UnprocessableError('input_shape_mismatch', `${spec.preset} takes images [height, width, channels]; the dataset's examples are [${featureShape}]`, { actual: featureShape });
  const architecture = { preset: spec.preset, alpha: spec.alpha ?? 1, inputShape };
  try {
    return { architecture, built: presetTopology(architecture, inputShape, numClasses) };
  } catch (err) {
    if (err instanceof RangeError) throw new UnprocessableError('layer_not_buildable', `${spec.preset} cannot take inputs of shape [${inputShape}]: ${err.message}`, { inputShape });
    throw err;
  }
}
