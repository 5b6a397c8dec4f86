// Backbone presets for pretraining: the mobilenetV2 preset is Keras'
// MobileNetV2 (the fixture made by keras.applications: alpha 0.35, 96×96,
// include_top=False, pooling="avg") layer for layer (names, classes, options,
// weight shapes, parameter count); mnistCnn is the Keras recipe's convnet with
// its layer names; a pretrain job with each preset runs through the API, and
// its output is fine-tuned with a head on a Keras layer name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { importKerasModel } from '../apps/shared/ml/keras/import.ts';
import { countParams } from '../apps/shared/ml/layer-shapes.ts';
import { mnistCnnLayers, planPreset, presetTopology } from '../apps/shared/ml/presets/index.ts';
import { AppError } from '../apps/shared/errors.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, waitForJob } from './helpers/api.ts';

const fixture = (file: string) => new Uint8Array(readFileSync(new URL(`./fixtures/keras/${file}`, import.meta.url)));
const LIMITS = { maxWeightBytes: 100 * 2 ** 20, maxLayers: 512 };
type L = { class_name: string; name: string; config: Record<string, unknown> };

describe('presets match Keras', () => {
  it('mobilenetV2 (alpha 0.35, 96×96×3) is keras.applications.MobileNetV2: layers, options, weight shapes, parameters', async () => {
    const keras = await importKerasModel(fixture('mobilenetv2_035_96.keras'), LIMITS);
    const ours = presetTopology({ preset: 'mobilenetV2', alpha: 0.35 }, [96, 96, 3]);
    const theirs = (keras.modelJson.modelTopology.config as { layers: L[] }).layers;
    const mine = (ours.modelTopology.config as { layers: L[] }).layers;
    assert.equal(mine.length, theirs.length);
    // The input's name depends on what else the Keras session had built; everything after it is the same.
    assert.deepEqual(mine.slice(1).map((l) => [l.class_name, l.name, l.config]), theirs.slice(1).map((l) => [l.class_name, l.name, l.config]));
    const specs = keras.modelJson.weightsManifest.flatMap((g) => g.weights).map((w) => ({ name: w.name, shape: w.shape }));
    assert.deepEqual(ours.weights, specs);
    assert.equal(ours.params, keras.weights.byteLength / 4);
    assert.deepEqual(ours.outputShape, [null, 1280]);
    assert.equal((ours.modelTopology.config as { name: string }).name, (keras.modelJson.modelTopology.config as { name: string }).name);
  });

  it("mobilenetV3Small (96×96×3) has the names, classes, parameters and output shapes of Keras' MobileNetV3Small (reference made by Keras)", async () => {
    const ref = JSON.parse(readFileSync(new URL('./fixtures/keras/mobilenetv3small_layers.json', import.meta.url), 'utf8')) as { totalParams: number; layers: Array<[string, string, number, Array<number | null> | null]> };
    const ours = presetTopology({ preset: 'mobilenetV3Small' }, [96, 96, 3]);
    // Output shapes as tfjs infers them when it builds the model.
    const built = await tf.models.modelFromJSON({ modelTopology: ours.modelTopology } as never);
    const shapes = new Map(built.layers.map((l) => [l.name, (l.outputShape as number[]).slice(1)]));
    built.dispose();
    const mine = (ours.modelTopology.config as { layers: L[] }).layers;
    assert.deepEqual(mine.map((l) => l.name), ref.layers.map((l) => l[1]));
    const params = new Map<string, number>();
    for (const w of ours.weights) {
      const layer = w.name.slice(0, w.name.lastIndexOf('/'));
      params.set(layer, (params.get(layer) ?? 0) + w.shape.reduce((a, b) => a * b, 1));
    }
    mine.forEach((l, i) => {
      const [cls, name, count, shape] = ref.layers[i];
      // Keras' constant ops (x + 3.0, x * (1/6)) are Rescaling layers here; every other entry has Keras' class.
      const op = (cls === 'Add' || cls === 'Multiply') && l.class_name === 'Rescaling';
      assert.ok(op || l.class_name === cls, `${name}: ${l.class_name} vs Keras' ${cls}`);
      assert.equal(params.get(name) ?? 0, count, name);
      if (shape) assert.deepEqual([null, ...shapes.get(name)!], shape, name);
    });
    assert.equal(ours.params, ref.totalParams);
    const model = await tf.models.modelFromJSON({ modelTopology: presetTopology({ preset: 'mobilenetV3Small', alpha: 0.75 }, [32, 32, 3], 4).modelTopology } as never);
    assert.deepEqual(model.outputs[0].shape, [null, 4]);
    model.dispose();
  });

  it('tfjs builds the preset with the parameters the API counted', async () => {
    const built = presetTopology({ preset: 'mobilenetV2', alpha: 0.35, inputShape: [32, 32, 3] }, [32, 32, 3], 10);
    const model = await tf.models.modelFromJSON({ modelTopology: built.modelTopology } as never);
    assert.equal(model.countParams(), built.params);
    assert.deepEqual(model.outputs[0].shape, [null, 10]);
    assert.equal(model.getLayer('predictions').outputShape[1], 10);
    model.dispose();
  });

  it("mnistCnn is the recipe's convnet with Keras' layer names", async () => {
    const keras = await importKerasModel(fixture('mnist_convnet_0to4.keras'), LIMITS);
    const layers = mnistCnnLayers(5);
    const names = ((keras.modelJson.modelTopology.config as { layers: L[] }).layers).map((l) => l.config.name);
    assert.deepEqual(layers.map((l) => l.name), names);
    assert.equal(countParams([null, 28, 28, 1], layers), keras.weights.byteLength / 4);
  });

  it('refuses an input the preset cannot take, before anything is queued', () => {
    const refused = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => e instanceof AppError && e.code === code);
    refused(() => planPreset({ preset: 'mobilenetV2', inputShape: [96, 96, 3] }, [28, 28, 1], 5), 'input_shape_mismatch');
    refused(() => planPreset({ preset: 'mobilenetV2' }, [12], 5), 'input_shape_mismatch');
    // Keras' application function wants 32×32 or more; the architecture itself is defined down to 1×1.
    assert.deepEqual(planPreset({ preset: 'mobilenetV2' }, [2, 2, 1], 5).built!.outputShape, [null, 5]);
  });
});

describe('presets through the API', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(() => h?.close());

  it('pretrains mobilenetV2, mobilenetV3Small and mnistCnn presets, and fine-tunes the MobileNet on out_relu', async () => {
    const train = await createDataset(h.app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 100 });
    const hp = { epochs: 1, batchSize: 25, validationSplit: 0 };
    const jobs = {
      mobilenet: await submitJob(h.app, { type: 'pretrain', architecture: { preset: 'mobilenetV2', alpha: 0.35, inputShape: [28, 28, 1] }, hyperparameters: hp, trainDatasetId: train.id }),
      cnn: await submitJob(h.app, { type: 'pretrain', architecture: { preset: 'mnistCnn' }, hyperparameters: hp, trainDatasetId: train.id }),
      v3: await submitJob(h.app, { type: 'pretrain', architecture: { preset: 'mobilenetV3Small', alpha: 0.75 }, hyperparameters: hp, trainDatasetId: train.id }),
    };
    const bad = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: { preset: 'mobilenetV2', inputShape: [96, 96, 3] }, trainDatasetId: train.id });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'input_shape_mismatch');
    const models: Record<string, { layers: Array<{ name: string }>; outputShape: unknown; totalParams: number; id: string }> = {};
    for (const [key, job] of Object.entries(jobs)) {
      const done = await waitForJob(h.app, job.id, finished, 600_000);
      assert.equal(done.status, 'succeeded', `${key}: ${JSON.stringify(done.error)}`);
      models[key] = (await http(h.app).get(`/v1/models/${done.outputModelId}`)).body;
      assert.deepEqual(models[key].outputShape, [null, 5]);
    }
    const names = models.mobilenet.layers.map((l) => l.name);
    for (const n of ['Conv1', 'expanded_conv_project_BN', 'block_1_pad', 'block_15_add', 'out_relu', 'global_average_pooling2d', 'predictions']) assert.ok(names.includes(n), n);
    assert.equal(models.mobilenet.totalParams, planPreset({ preset: 'mobilenetV2', alpha: 0.35 }, [28, 28, 1], 5).built!.params);
    assert.deepEqual(models.cnn.layers.map((l) => l.name).slice(-8), mnistCnnLayers(5).map((l) => l.name));
    const v3 = models.v3.layers.map((l) => l.name);
    for (const n of ['rescaling', 'conv_bn', 'expanded_conv_squeeze_excite_avg_pool', 'expanded_conv_10_add', 'conv_1_bn', 'avg_pool', 'predictions']) assert.ok(v3.includes(n), n);

    const ft = await submitJob(h.app, { baseModelId: models.mobilenet.id, cutLayer: 'out_relu', head: [{ type: 'flatten' }, { type: 'dense', units: 5, activation: 'softmax' }], hyperparameters: hp, trainDatasetId: train.id });
    const ftDone = await waitForJob(h.app, ft.id, finished, 600_000);
    assert.equal(ftDone.status, 'succeeded', JSON.stringify(ftDone.error));
  });
});
