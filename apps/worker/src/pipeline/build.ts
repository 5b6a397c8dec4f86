// For pretrain jobs, which skip load and freeze: the model from its architecture.
import { tf } from '../../../shared/ml/tf.ts';
import { applyLayers, checkOutput } from '../../../shared/ml/layer-spec.ts';
import type { LayerSpec } from '../../../shared/jobs/spec.ts';
import type { ModelParts } from './freeze.ts';

export function buildModel(featureShape: number[], architecture: LayerSpec[], numClasses: number): ModelParts {
  const input = tf.input({ shape: featureShape, name: 'input' });
  const output = applyLayers(input, architecture, 'layer', new Set(['input']));
  checkOutput(output, numClasses);
  const model = tf.model({ inputs: input, outputs: output });
  return { head: model, model, baseBlocks: [], freeze: 'none' };
}
