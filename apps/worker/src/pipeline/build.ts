// For pretrain jobs, which skip load and freeze: the model from its architecture.
import { tf } from '../../../shared/ml/tf.ts';
import { applyLayers, checkOutput } from '../../../shared/ml/layer-spec.ts';
import type { LayerSpec, PresetSpec } from '../../../shared/jobs/spec.ts';
import { presetTopology } from '../../../shared/ml/presets/index.ts';
import type { ModelParts } from './freeze.ts';

export function buildModel(featureShape: number[], architecture: LayerSpec[], numClasses: number): ModelParts {
  const input = tf.input({ shape: featureShape, name: 'input' });
  const output = applyLayers(input, architecture, 'layer', new Set(['input']));
  checkOutput(output, numClasses);
  const model = tf.model({ inputs: input, outputs: output });
  return { head: model, model, baseBlocks: [], freeze: 'none' };
}

/** A MobileNet preset: its topology (checked by the API) built by tfjs with fresh weights. */
export async function buildPresetModel(featureShape: number[], preset: PresetSpec, numClasses: number): Promise<ModelParts> {
  const { modelTopology } = presetTopology(preset, preset.inputShape ?? featureShape, numClasses);
  const model = await tf.models.modelFromJSON({ modelTopology } as never);
  return { head: model, model, baseBlocks: [], freeze: 'none' };
}
