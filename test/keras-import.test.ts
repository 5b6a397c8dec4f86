// Keras files in and out, without services. Each fixture (.keras and legacy
// .h5, made by Keras 3.15 on TensorFlow 2.21: see test/fixtures/keras/README.md)
// imports and its predictions match Keras' own on the same inputs; export →
// import gives back the same topology and weights; and a hostile file of each
// kind is refused with a 4xx code before anything is allocated for it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { tf } from '../apps/shared/ml/tf.ts';
import { AppError } from '../apps/shared/errors.ts';
import { importKerasModel, type ImportedModel } from '../apps/shared/ml/keras/import.ts';
import { exportKerasModel } from '../apps/shared/ml/keras/export.ts';
import { createH5File } from '../apps/shared/ml/keras/hdf5.ts';

const DIR = new URL('./fixtures/keras/', import.meta.url);
const FIXTURES = ['mnist_convnet_0to4', 'mobilenet_block', 'mobilenetv2_035_96', 'normalization', 'keras_ops'];
const LIMITS = { maxWeightBytes: 100 * 2 ** 20, maxLayers: 256 };
const fixture = (file: string) => new Uint8Array(readFileSync(new URL(file, DIR)));

async function predict(m: ImportedModel, inputs: unknown): Promise<tf.Tensor> {
  const w = m.weights;
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: m.modelJson.modelTopology as never,
    weightSpecs: m.modelJson.weightsManifest.flatMap((g) => g.weights) as never,
    weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer,
  }));
  const out = model.predict(tf.tensor(inputs as number[])) as tf.Tensor;
  model.dispose();
  return out;
}

/** Max abs difference, and the same relative to the reference's largest value (MobileNetV2's random-weight outputs are ~1e-10). */
async function compare(m: ImportedModel, name: string): Promise<{ abs: number; rel: number }> {
  const io = JSON.parse(readFileSync(new URL(`${name}.io.json`, DIR), 'utf8'));
  const out = await predict(m, io.inputs);
  const ref = tf.tensor(io.outputs);
  assert.deepEqual(out.shape, ref.shape);
  const abs = tf.max(tf.abs(tf.sub(out, ref))).dataSync()[0];
  const scale = tf.max(tf.abs(ref)).dataSync()[0];
  assert.ok(scale > 0, 'the reference outputs are not all zero');
  return { abs, rel: abs / scale };
}

async function refused(bytes: Uint8Array, code: string, fault?: string, format?: 'keras' | 'h5'): Promise<AppError> {
  const err = await importKerasModel(bytes, LIMITS, format).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AppError, `expected a refusal, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.ok(err.statusCode >= 400 && err.statusCode < 500);
  if (fault) assert.equal((err.details as { fault?: string }).fault, fault, err.message);
  return err;
}

/** The mobilenet block's .keras with config.json (and optionally other entries) changed. */
function rezip(edit: (config: Record<string, any>) => void, extra: Record<string, Uint8Array> = {}): Uint8Array {
  const files = unzipSync(fixture('mobilenet_block.keras'));
  const config = JSON.parse(Buffer.from(files['config.json']).toString('utf8'));
  edit(config);
  return zipSync({ ...files, 'config.json': strToU8(JSON.stringify(config)), ...extra });
}

describe('Keras import matches Keras', () => {
  for (const name of FIXTURES) {
    for (const ext of ['keras', 'h5'] as const) {
      it(`${name}.${ext}: predictions within 1e-4 of Keras'`, async () => {
        const m = await importKerasModel(fixture(`${name}.${ext}`), LIMITS);
        assert.equal(m.format, ext);
        const { abs, rel } = await compare(m, name);
        assert.ok(abs <= 1e-4 && rel <= 1e-4, `max abs diff ${abs}, relative ${rel}`);
      });
    }
  }

  it('the format given must match the content', async () => {
    await refused(fixture('mobilenet_block.h5'), 'model_invalid', 'format_mismatch', 'keras');
  });
});

describe('Keras export', () => {
  for (const name of FIXTURES) {
    it(`${name}: export → import gives the same topology, weights and predictions`, async () => {
      const m = await importKerasModel(fixture(`${name}.keras`), LIMITS);
      const again = await importKerasModel(await exportKerasModel(m.modelJson, m.weights), LIMITS);
      assert.deepEqual(again.modelJson.modelTopology, m.modelJson.modelTopology);
      assert.deepEqual(again.modelJson.weightsManifest, m.modelJson.weightsManifest);
      assert.ok(Buffer.from(again.weights).equals(Buffer.from(m.weights)));
      const { abs } = await compare(again, name);
      assert.ok(abs <= 1e-4, `max abs diff ${abs}`);
    });
  }

  it("the recipe's exported config keeps every layer's name, class and options", async () => {
    const m = await importKerasModel(fixture('mnist_convnet_0to4.keras'), LIMITS);
    const files = unzipSync(await exportKerasModel(m.modelJson, m.weights));
    const ours = JSON.parse(Buffer.from(files['config.json']).toString('utf8'));
    const theirs = JSON.parse(Buffer.from(unzipSync(fixture('mnist_convnet_0to4.keras'))['config.json']).toString('utf8'));
    assert.equal(ours.class_name, theirs.class_name);
    const strip = (l: any) => [l.class_name, l.config.name, l.config.units, l.config.filters, JSON.stringify(l.config.kernel_size), l.config.activation, l.config.rate];
    assert.deepEqual(ours.config.layers.map(strip).slice(1), theirs.config.layers.map(strip).slice(1));
  });
});

describe('hostile Keras files are refused with a 4xx', () => {
  it('a truncated .keras', async () => {
    const bytes = fixture('mobilenet_block.keras');
    await refused(bytes.slice(0, Math.floor(bytes.length / 2)), 'model_invalid', 'zip_corrupt');
  });

  it('a zip entry that points outside the archive (../)', async () => {
    await refused(rezip(() => undefined, { '../../etc/evil': strToU8('x') }), 'model_invalid', 'zip_path');
  });

  it('a config naming an unknown layer class', async () => {
    const err = await refused(rezip((c) => (c.config.layers[1].class_name = 'FancyConv')), 'model_unsupported');
    assert.match(err.message, /FancyConv/);
  });

  it('a Lambda layer', async () => {
    const err = await refused(rezip((c) => (c.config.layers[3].class_name = 'Lambda')), 'model_unsupported');
    assert.match(err.message, /Lambda/);
    assert.equal((err.details as { layer: string }).layer, 'stem_relu6');
  });

  it('an option tfjs would compute differently names the layer and the option', async () => {
    const err = await refused(rezip((c) => (c.config.layers[3].config.negative_slope = 0.1)), 'model_unsupported');
    assert.deepEqual([(err.details as any).layer, (err.details as any).option], ['stem_relu6', 'negative_slope']);
  });

  it('a legacy .h5 whose weight dataset declares 10 GB (never read)', async () => {
    const config = JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 1], use_bias: false } }] } });
    const bytes = await createH5File((f) => {
      f.create_attribute('model_config', config);
      const g = f.create_group('model_weights').create_group('d');
      g.create_attribute('weight_names', ['d/kernel']);
      const ds = g.create_group('d').create_dataset({ name: 'kernel', data: new Float32Array(1), shape: [1, 1], maxshape: [null, null], chunks: [1, 1], dtype: '<f' });
      ds.resize([50_000, 50_000]);
    });
    assert.ok(bytes.length < 100_000, `the file itself is small (${bytes.length} bytes)`);
    const err = await refused(bytes, 'model_too_large');
    assert.match(err.message, /declares 2500000000 values/);
  });

  it('a weight dataset that is not float', async () => {
    const config = JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 1], use_bias: false } }] } });
    const bytes = await createH5File((f) => {
      f.create_attribute('model_config', config);
      const g = f.create_group('model_weights').create_group('d');
      g.create_attribute('weight_names', ['d/kernel']);
      g.create_group('d').create_dataset({ name: 'kernel', data: new Int32Array(2), shape: [1, 2], dtype: '<i' });
    });
    await refused(bytes, 'model_invalid', 'hdf5_dtype');
  });

  it('a file that is neither zip nor HDF5', async () => {
    await refused(strToU8('{"modelTopology": {}}'), 'model_unsupported', 'unknown_format');
  });
});
