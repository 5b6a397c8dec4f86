// For pretrain jobs, which skip load and freeze: the model from its architecture.
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { applyLayers, checkOutput } from '../../../shared/ml/layer-spec.ts';
import type { LayerSpec } from '../../../shared/jobs/spec.ts';

export function buildModel(featureShape: number[], architecture: LayerSpec[], numClasses: number): LayersModel {
  const input = tf.input({ shape: featureShape, name: 'input' });
  const output = applyLayers(input, architecture, 'layer', new Set(['input']));
  checkOutput(output, numClasses);
  return tf.model({ inputs: input, outputs: output });
}
