// Keras files through the API, with a real worker, Postgres, Redis and S3:
// POST /v1/models takes a .keras or .h5 (parsed in the inspector's child),
// hostile files get a 4xx and leave nothing stored, GET …/model.keras gives
// the model back as a Keras 3 file. (keras-finetune.test.ts fine-tunes the
// recipe's base through the API.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { importKerasModel } from '../apps/shared/ml/keras/import.ts';
import { exportKerasModel } from '../apps/shared/ml/keras/export.ts';
import { createH5File } from '../apps/shared/ml/keras/hdf5.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { kerasFixture as fixture, uploadTo } from './helpers/fixtures.ts';

const LIMITS = { maxWeightBytes: 100 * 2 ** 20, maxLayers: 256 };

/** A legacy .h5 of one Dense layer (1 → 2, no bias) whose kernel dataset has `shape`, grown to `declared` if given. */
function legacyDense(shape: number[], declared?: number[]): Promise<Uint8Array> {
  const config = JSON.stringify({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 1], use_bias: false } }] } });
  return createH5File((f) => {
    f.create_attribute('model_config', config);
    const g = f.create_group('model_weights').create_group('d');
    g.create_attribute('weight_names', ['d/kernel']);
    const n = shape.reduce((a, b) => a * b, 1);
    const ds = g.create_group('d').create_dataset({ name: 'kernel', data: new Float32Array(n), shape, maxshape: shape.map(() => null), chunks: shape.map(() => 1), dtype: '<f' });
    if (declared) ds.resize(declared);
  });
}

describe('Keras models through the API', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(() => h?.close());

  const upload = (name: string, bytes: Uint8Array) => uploadTo(h, name, bytes);
  const register = async (name: string, uri: string, extra: Record<string, unknown> = {}) => http(h.app).post('/v1/models').send({ name, uri, ...extra });
  const stored = async () => ({ rows: (await http(h.app).get('/v1/models')).body.data.length, files: (await h.storage.list('models/')).length });

  it('registers a .keras and a legacy .h5, with the format read from the content', async () => {
    const keras = await register('mnist 0-4', await upload('mnist.keras', fixture('mnist_convnet_0to4.keras')));
    assert.equal(keras.status, 201, JSON.stringify(keras.body));
    assert.deepEqual(keras.body.inputShape, [null, 28, 28, 1]);
    assert.deepEqual(keras.body.outputShape, [null, 5]);
    assert.deepEqual(keras.body.layers.map((l: { name: string }) => l.name), ['conv1', 'conv2', 'pool', 'drop1', 'flatten', 'dense1', 'drop2', 'predictions']);
    // Named .h5, holding a zip: the content decides.
    const misnamed = await register('block', await upload('block.h5', fixture('mobilenet_block.keras')));
    assert.equal(misnamed.status, 201, JSON.stringify(misnamed.body));
    const h5 = await register('block h5', await upload('block-legacy.h5', fixture('mobilenet_block.h5')), { format: 'h5' });
    assert.equal(h5.status, 201, JSON.stringify(h5.body));
    assert.equal(h5.body.totalParams, misnamed.body.totalParams);
    const json = JSON.parse((await http(h.app).get(`/v1/models/${h5.body.id}/model.json`)).text);
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  });

  it('refuses hostile Keras files with a 4xx and a code, and stores nothing', async () => {
    const before = await stored();
    const files = unzipSync(fixture('mobilenet_block.keras'));
    const config = JSON.parse(Buffer.from(files['config.json']).toString('utf8'));
    config.config.layers[3].class_name = 'Lambda';
    const unknown = structuredClone(config);
    unknown.config.layers[3].class_name = 'FancyConv';
    const cases: Array<[string, Uint8Array, string, Record<string, unknown>?]> = [
      ['truncated.keras', fixture('mobilenet_block.keras').slice(0, 30_000), 'model_invalid'],
      ['escape.keras', zipSync({ ...files, '../../outside': strToU8('x') }), 'model_invalid'],
      ['lambda.keras', zipSync({ ...files, 'config.json': strToU8(JSON.stringify(config)) }), 'model_unsupported'],
      ['unknown.keras', zipSync({ ...files, 'config.json': strToU8(JSON.stringify(unknown)) }), 'model_unsupported'],
      ['declared.keras', fixture('mobilenet_block.keras'), 'model_invalid', { format: 'h5' }],
      // A dataset declaring 50 000 x 50 000 floats (10 GB) in a file of a few kB: refused before reading.
      ['huge.h5', await legacyDense([1, 1], [50_000, 50_000]), 'model_too_large'],
      // The kernel of a 1 → 2 Dense stored as 3 x 2.
      ['wrong-shape.h5', await legacyDense([3, 2]), 'model_invalid'],
    ];
    for (const [name, bytes, code, extra] of cases) {
      const res = await register(name, await upload(name, bytes), extra);
      assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, `${name}: ${JSON.stringify(res.body)}`);
    }
    // A weight of the wrong shape (same size): tfjs refuses to build it, in the child.
    const m = await importKerasModel(fixture('mobilenet_block.keras'), LIMITS);
    const spec = m.modelJson.weightsManifest[0].weights.find((w) => w.name === 'predictions/kernel')!;
    spec.shape = [10, 16];
    const res = await register('wrong-shape', await upload('wrong.keras', await exportKerasModel(m.modelJson, m.weights)));
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'model_invalid');
    assert.match(res.body.error.message, /shape/i);
    assert.deepEqual(await stored(), before);
  });

  it('gives any model back as a .keras file that imports to the same predictions', async () => {
    const reg = await register('block again', await upload('block2.keras', fixture('mobilenet_block.keras')));
    assert.equal(reg.status, 201);
    const res = await http(h.app).get(`/v1/models/${reg.body.id}/model.keras`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-disposition'], /model\.keras/);
    const back = await importKerasModel(new Uint8Array(res.body as Buffer), LIMITS);
    const original = await importKerasModel(fixture('mobilenet_block.keras'), LIMITS);
    assert.ok(Buffer.from(back.weights).equals(Buffer.from(original.weights)));
    assert.deepEqual(back.modelJson.modelTopology, original.modelJson.modelTopology);
  });
});
