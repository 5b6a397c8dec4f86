// TensorFlow.js Graph models as frozen bases, through the API with a real
// worker, Postgres, Redis and S3: the fixture graph (test/fixtures/graph, a
// conv → ReLU → mean `features` node → dense → softmax graph) is registered,
// refused as anything but a frozen base, fine-tuned on 8×8 digits with the
// head on its `features` node, and its result downloads as a head plus the
// graph that feeds it, which tfjs runs as docs/models.md says.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { api, createDataset, finished, http, submitJob, waitForJob } from './helpers/api.ts';
import { downloadModel } from '../apps/client/index.ts';
import { readAllImages } from '../apps/shared/data/images/read.ts';
import type { StoredImagesSource } from '../apps/shared/data/images/schema.ts';
import { encode, mnistDigits } from './helpers/images.ts';

const DIR = new URL('./fixtures/graph/', import.meta.url);
const fixture = (file: string) => new Uint8Array(readFileSync(new URL(file, DIR)));

/** An IOHandler over bytes the API served, as a browser's fetch would hand them to tfjs. */
const served = (modelJson: Record<string, any>, weights: Uint8Array) => tf.io.fromMemory({
  modelTopology: modelJson.modelTopology,
  weightSpecs: modelJson.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights),
  weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
});

describe('a Graph model as a frozen base, through the API', () => {
  let h: Harness;
  let baseId: string;
  let train: { id: string };
  let test: { id: string };
  /** The head fine-tuned on `features`: deleting the base leaves it whole (last test). */
  let headId: string | undefined;
  before(async () => {
    h = await createHarness({ worker: true });
    await h.storage.put(`${h.uploads}graph/model.json`, fixture('model.json'));
    await h.storage.put(`${h.uploads}graph/group1-shard1of1.bin`, fixture('group1-shard1of1.bin'));
    const reg = await http(h.app).post('/v1/models').send({ name: 'graph', uri: `s3://${h.storage.bucket}/${h.uploads}graph/model.json` });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    baseId = reg.body.id;
    // 0, 1 and 7 at 8×8: what the graph's four mean-pooled conv channels can tell apart.
    const digits = await mnistDigits([0, 1, 7], 60);
    const uri = (key: string) => `s3://${h.storage.bucket}/${h.uploads}${key}`;
    await Promise.all(digits.map(async (d, i) => h.storage.put(`${h.uploads}${i % 60 < 45 ? 'train' : 'test'}/${d.label}/${i}.png`, await encode.png(d))));
    const preprocess = { size: [8, 8], channels: 'grayscale', scaling: 'unit' };
    train = await createDataset(h.app, 'digits 8x8', { type: 'images', layout: 'folders', uri: uri('train/'), preprocess });
    test = await createDataset(h.app, 'digits 8x8 test', { type: 'images', layout: 'folders', uri: uri('test/'), preprocess });
  });
  after(() => h?.close());

  it('registers the graph with its nodes as rows: the output last, the `features` node among them', async () => {
    const m = (await http(h.app).get(`/v1/models/${baseId}`)).body;
    assert.equal(m.format, 'graph-model');
    assert.deepEqual(m.inputShape, [null, 8, 8, 1]);
    assert.deepEqual(m.outputShape, [null, 3]);
    assert.equal(m.layers.at(-1).name, 'Identity');
    assert.deepEqual(m.layers.find((l: { name: string }) => l.name === 'features').outputShape, [null, 4]);
    assert.equal(m.totalParams, 3 * 3 * 4 + 4 + 4 * 3);
  });

  it('refuses any freeze but "all", a node the graph lacks, compareWithScratch and a dataset of another shape, each with its code', async () => {
    const job = (extra: Record<string, unknown>) => http(h.app).post('/v1/jobs').send({ baseModelId: baseId, trainDatasetId: train.id, ...extra });
    for (const freeze of ['none', { unfreezeTop: 1 }, { unfreezeEvery: 1 }]) {
      const res = await job({ freeze });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'graph_base_frozen');
      assert.deepEqual(res.body.error.details.freeze, freeze);
    }
    const scratch = await job({ compareWithScratch: true });
    assert.equal(scratch.body.error.code, 'graph_base_frozen');
    // strategy auto measures cut layers, as advice does: refused now, not failed in the worker.
    const auto = await job({ strategy: 'auto' });
    assert.equal(auto.status, 422, JSON.stringify(auto.body));
    assert.equal(auto.body.error.code, 'model_unsupported');
    assert.equal(auto.body.error.details.fault, 'graph_model');
    for (const cutLayer of ['nowhere', 'features/reduction_indices', 1]) {
      const res = await job({ cutLayer });
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, 'cut_layer_not_found', JSON.stringify(res.body));
    }
    // A node the graph has, a constant: the message says why it is no cut candidate.
    const constant = await job({ cutLayer: 'features/reduction_indices' });
    assert.match(constant.body.error.message, /not one of the graph's \d+ cut candidates.*constant or shape op/);
    const mnist = await createDataset(h.app, 'digits 28x28', { type: 'mnist', classes: [0, 1], count: 20 });
    const shape = await http(h.app).post('/v1/jobs').send({ baseModelId: baseId, trainDatasetId: mnist.id });
    assert.equal(shape.body.error.code, 'input_shape_mismatch');
    assert.equal((await http(h.app).get('/v1/jobs')).body.data.length, 0, 'nothing was queued');
  });

  it('fine-tunes a head on the `features` node: beats chance, and the head plus its graph run in tfjs as served', async () => {
    const job = await submitJob(h.app, {
      baseModelId: baseId,
      cutLayer: 'features',
      freeze: 'all',
      head: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
      hyperparameters: { epochs: 30, batchSize: 16, learningRate: 0.02, validationSplit: 0.2 },
      trainDatasetId: train.id,
      testDatasetId: test.id,
    });
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.evaluation.numExamples, 45);
    console.log(`# graph base, head on features: test accuracy ${done.evaluation.accuracy} on 45 digits (chance 1/3)`);
    assert.ok(done.evaluation.accuracy > 0.6, `test accuracy ${done.evaluation.accuracy}`);
    assert.equal(done.bestCheckpoint.fastPath, true);

    const out = (await http(h.app).get(`/v1/models/${done.outputModelId}`)).body;
    assert.equal(out.format, 'graph-head');
    assert.deepEqual(out.inputShape, [null, 8, 8, 1]);
    assert.equal(out.files.base.outputNode, 'features');
    const get = async (path: string) => {
      const res = await http(h.app).get(path).buffer(true).parse((r, cb) => { const c: Buffer[] = []; r.on('data', (d: Buffer) => c.push(d)); r.on('end', () => cb(null, Buffer.concat(c))); });
      assert.equal(res.status, 200, path);
      return new Uint8Array(res.body);
    };
    const json = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8'));
    const headJson = json(await get(out.files.modelJson));
    assert.equal(headJson.graphBase.outputNode, 'features');
    const head = await tf.loadLayersModel(served(headJson, await get(out.files.weights[0])));
    const graph = await tf.loadGraphModel(served(json(await get(out.files.base.modelJson)), await get(out.files.base.weights[0])));
    // What docs/models.md tells a user to run: the graph up to outputNode, then the head.
    const x = tf.randomUniform([5, 8, 8, 1]);
    const probs = head.predict(graph.execute(x, out.files.base.outputNode) as tf.Tensor) as tf.Tensor;
    assert.deepEqual(probs.shape, [5, 3]);
    assert.ok(Math.abs(probs.sum().dataSync()[0] - 5) < 1e-4);
    // The client (and so `finetune models download`) writes the graph beside the head.
    const dl = await downloadModel(api(h.app), done.outputModelId, mkdtempSync(path.join(tmpdir(), 'graph-head-')));
    assert.equal(dl.base?.outputNode, 'features');
    assert.deepEqual(new Uint8Array(readFileSync(dl.base!.weights)), fixture('group1-shard1of1.bin'));
    // The downloaded graph + head, on the test set as the worker stored it, make the job's own evaluation.
    const stored = await h.db.dataset.findUniqueOrThrow({ where: { id: test.id } });
    const testSet = await readAllImages(stored.source as unknown as StoredImagesSource, h.storage);
    const xs = tf.tensor(testSet.features, [testSet.labels.length, ...testSet.featureShape]);
    const predicted = (head.predict(graph.execute(xs, 'features') as tf.Tensor) as tf.Tensor).argMax(1).dataSync();
    const confusion = out.labels.map(() => out.labels.map(() => 0));
    testSet.labels.forEach((label, i) => confusion[out.labels.indexOf(label)][predicted[i]]++);
    assert.deepEqual(confusion, done.evaluation.confusionMatrix);
    headId = done.outputModelId;
    const keras = await http(h.app).get(`/v1/models/${done.outputModelId}/model.keras`);
    assert.equal(keras.status, 422);
    assert.equal(keras.body.error.code, 'model_unsupported');
  });

  it('caches the features per graph bytes and node: another head on `features` hits, the head on the graph\'s output does not', async () => {
    const run = async (extra: Record<string, unknown>) => {
      const job = await submitJob(h.app, { baseModelId: baseId, hyperparameters: { epochs: 2, batchSize: 16, validationSplit: 0.2 }, trainDatasetId: train.id, ...extra });
      const done = await waitForJob(h.app, job.id, finished, 300_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      return done;
    };
    const again = await run({ cutLayer: 'features', head: [{ type: 'dense', units: 3, activation: 'softmax' }] });
    assert.equal(again.bestCheckpoint.featureCache, 'hit');
    const onOutput = await run({});
    assert.equal(onOutput.bestCheckpoint.featureCache, 'miss');
    const out = (await http(h.app).get(`/v1/models/${onOutput.outputModelId}`)).body;
    assert.equal(out.files.base.outputNode, 'Identity', "the default cut: the graph's output");
    assert.deepEqual(out.layers[0].outputShape, [null, 3], 'the head reads the 3 outputs');
  });

  it('paused mid-training, it checkpoints the head and, resumed, continues from that checkpoint to success', async () => {
    // Batches of one, so that training lasts long enough to be paused in.
    const job = await submitJob(h.app, { baseModelId: baseId, cutLayer: 'features', hyperparameters: { epochs: 40, batchSize: 1, validationSplit: 0.2 }, trainDatasetId: train.id });
    await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 1, 120_000);
    assert.equal((await http(h.app).post(`/v1/jobs/${job.id}/pause`)).status, 202);
    const paused = await waitForJob(h.app, job.id, (j) => j.status === 'paused' || finished(j), 60_000);
    assert.equal(paused.status, 'paused', 'paused before it finished');
    assert.equal((await http(h.app).post(`/v1/jobs/${job.id}/resume`)).status, 202);
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const events = (await http(h.app).get(`/v1/jobs/${job.id}/events?limit=500`)).body.data as Array<{ type: string; data: Record<string, any> }>;
    const resumed = events.find((e) => e.type === 'attempt');
    assert.ok(resumed && resumed.data.resumeFrom.epoch >= paused.progress.epoch, JSON.stringify(resumed));
    const epochs = (await http(h.app).get(`/v1/jobs/${job.id}/metrics`)).body.data.map((m: { epoch: number }) => m.epoch);
    assert.deepEqual(epochs, Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('with its base deleted, the head still downloads with its graph, and runs', async () => {
    assert.ok(headId, 'the fine-tuning test ran');
    assert.equal((await http(h.app).delete(`/v1/models/${baseId}`)).status, 204);
    assert.equal((await http(h.app).get(`/v1/models/${baseId}`)).status, 404);
    const dl = await downloadModel(api(h.app), headId!, mkdtempSync(path.join(tmpdir(), 'graph-head-orphan-')));
    const file = (p: string) => new Uint8Array(readFileSync(p));
    const graph = await tf.loadGraphModel(served(JSON.parse(readFileSync(dl.base!.modelJson, 'utf8')), file(dl.base!.weights)));
    const head = await tf.loadLayersModel(served(JSON.parse(readFileSync(dl.modelJson, 'utf8')), file(dl.weights)));
    const probs = head.predict(graph.execute(tf.ones([2, 8, 8, 1]), dl.base!.outputNode) as tf.Tensor) as tf.Tensor;
    assert.deepEqual(probs.shape, [2, 3]);
    assert.ok(Math.abs(probs.sum().dataSync()[0] - 2) < 1e-4);
  });
});
