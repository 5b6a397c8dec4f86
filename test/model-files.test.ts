// The model-file checks refuse what tfjs would choke on, before tfjs sees it,
// and never refuse an honest model: real tfjs models of every weighted layer
// kind pass checkTopologyFitsManifest; the same models with one layer's size
// inflated behind an unchanged manifest do not. No services needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { io } from '@tensorflow/tfjs';
import { tf } from '../apps/shared/ml/tf.ts';
import { checkTopologyFitsManifest, parseModelJson, type ModelJson } from '../apps/shared/ml/model-files.ts';
import { AppError } from '../apps/shared/errors.ts';

async function modelJson(model: tf.LayersModel): Promise<ModelJson> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  return parseModelJson(Buffer.from(JSON.stringify({ modelTopology: artifacts!.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }] })));
}

const models: Record<string, () => tf.LayersModel> = {
  'dense chain': () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [20], units: 64 }), tf.layers.dropout({ rate: 0.1 }), tf.layers.batchNormalization(), tf.layers.dense({ units: 64 }), tf.layers.dense({ units: 3 })] }),
  'conv2d stack': () => tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [28, 28, 3], filters: 8, kernelSize: 3 }),
    tf.layers.conv2d({ filters: 16, kernelSize: [5, 3] }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
    tf.layers.separableConv2d({ filters: 4, kernelSize: 3 }),
    tf.layers.globalAveragePooling2d({}),
    tf.layers.dense({ units: 10 }),
  ] }),
  'conv1d and embedding': () => tf.sequential({ layers: [tf.layers.embedding({ inputDim: 100, outputDim: 8, inputLength: 12 }), tf.layers.conv1d({ filters: 4, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] }),
  functional: () => {
    const input = tf.input({ shape: [6] });
    const a = tf.layers.dense({ units: 16 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 16 }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2 }).apply(tf.layers.add().apply([a, b]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  },
};

const layersOf = (json: ModelJson) => ((json.modelTopology.model_config ?? json.modelTopology) as { config: { layers: Array<{ class_name: string; config: Record<string, any> }> } }).config.layers;

describe('model files: the topology must fit the manifest', () => {
  for (const [name, build] of Object.entries(models)) {
    it(`an honest ${name} passes; inflated behind the same manifest, it is refused`, async () => {
      const json = await modelJson(build());
      checkTopologyFitsManifest(json);
      const weighted = layersOf(json).filter((l) => 'units' in l.config || 'filters' in l.config || 'output_dim' in l.config);
      assert.ok(weighted.length > 0);
      for (const l of weighted) {
        const inflated = structuredClone(json);
        const target = layersOf(inflated).find((x) => x.config.name === l.config.name)!;
        for (const key of ['units', 'filters', 'output_dim']) if (key in target.config) target.config[key] = 10_000_000;
        assert.throws(() => checkTopologyFitsManifest(inflated), (err: unknown) => err instanceof AppError && err.code === 'model_invalid', `${name}: ${l.config.name}`);
      }
    });
  }
});
