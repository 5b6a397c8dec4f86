// The whole product over HTTP with a real worker: pretrain a tiny base on
// digits 0-4, fine-tune it on 5-9, evaluate, then load the output model from
// the API's URL with tf.loadLayersModel and predict with it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { tf } from '../apps/shared/ml/tf.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { testBackendChoice, trainsOnThreads } from './helpers/backend.ts';

// On native TensorFlow a job trains on TensorFlow's own threads, not on TRAIN_THREADS.
const THREADS = trainsOnThreads(testBackendChoice) ? 2 : 1;

describe('end to end: pretrain → fine-tune → evaluate → load → predict', () => {
  let h: Harness;
  let baseUrl: string;
  before(async () => {
    // Two threads even for small data, so jobs train data-parallel through the service (wasm).
    h = await createHarness({ worker: true, env: { TRAIN_THREADS: '2', TRAIN_PARALLEL_MIN_EXAMPLES: '0' } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(() => h?.close());

  it('runs the MNIST transfer story through the API', async () => {
    const app = h.app;
    const low = await createDataset(app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 600 });
    assert.deepEqual(low.labels, ['0', '1', '2', '3', '4']);
    assert.deepEqual(low.featureShape, [28, 28, 1]);
    assert.equal(low.numExamples, 600);
    assert.equal(low.classCounts.reduce((a, c) => a + c.count, 0), 600);
    const high = await createDataset(app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 400 });
    const highTest = await createDataset(app, 'digits 5-9 test', { type: 'mnist', split: 'test', classes: [5, 6, 7, 8, 9], count: 200 });

    const pre = await submitJob(app, {
      type: 'pretrain',
      name: 'base 0-4',
      architecture: tinyMlp(5),
      hyperparameters: { epochs: 2, batchSize: 32, learningRate: 0.01 },
      trainDatasetId: low.id,
    });
    const preDone = await waitForJob(app, pre.id, finished);
    assert.equal(preDone.status, 'succeeded', JSON.stringify(preDone.error));
    assert.ok(preDone.outputModelId);
    assert.equal(preDone.bestCheckpoint.threads, THREADS);
    const base = (await http(app).get(`/v1/models/${preDone.outputModelId}`)).body;
    assert.equal(base.kind, 'base');
    assert.deepEqual(base.inputShape, [null, 28, 28, 1]);
    assert.deepEqual(base.outputShape, [null, 5]);

    const ft = await submitJob(app, {
      name: 'fine-tuned 5-9',
      baseModelId: base.id,
      head: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dropout', rate: 0.1 },
        { type: 'dense', units: 5, activation: 'softmax' },
      ],
      hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.01 },
      trainDatasetId: high.id,
      testDatasetId: highTest.id,
      compareWithScratch: true,
      targetValAccuracy: 0.5,
    });
    const done = await waitForJob(app, ft.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.stage, 'evaluate');
    assert.equal(done.backend, testBackendChoice);
    assert.equal(done.attempts, 1);
    assert.deepEqual(done.progress, { epoch: 3, totalEpochs: 3, fraction: 1 });
    assert.equal(done.evaluation.split, 'test');
    assert.equal(done.evaluation.numExamples, 200);
    assert.ok(done.evaluation.accuracy > 0.5, `accuracy ${done.evaluation.accuracy}`);
    assert.equal(done.evaluation.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0), 200);
    assert.equal(done.evaluation.perClass.length, 5);
    assert.ok(done.startedAt && done.finishedAt);
    // The best epoch is recorded, and the scratch baseline sits beside the fine-tuned result.
    assert.equal(done.bestCheckpoint.metric, 'valLoss');
    assert.ok(done.bestCheckpoint.epoch >= 1 && done.bestCheckpoint.epoch <= 3);
    assert.equal(done.bestCheckpoint.fastPath, true);
    assert.equal(done.bestCheckpoint.threads, THREADS);
    const cmp = done.evaluation.comparison;
    assert.equal(cmp.targetValAccuracy, 0.5);
    for (const side of [cmp.fineTuned, cmp.scratch]) {
      assert.ok(side.testAccuracy >= 0 && side.testAccuracy <= 1);
      assert.ok(side.wallTimeMs > 0);
      assert.equal(side.valAccuracyByEpoch.length, 3);
    }
    assert.equal(cmp.fineTuned.testAccuracy, done.evaluation.accuracy);
    assert.equal(done.bestCheckpoint.featureCache, 'miss');

    // Another head on the same base and data reuses the cached base activations.
    const again = await submitJob(app, {
      baseModelId: base.id,
      head: [{ type: 'dense', units: 5, activation: 'softmax' }],
      hyperparameters: { epochs: 1, batchSize: 64, learningRate: 0.02, optimizer: 'rmsprop' },
      trainDatasetId: high.id,
    });
    const againDone = await waitForJob(app, again.id, finished);
    assert.equal(againDone.status, 'succeeded', JSON.stringify(againDone.error));
    assert.equal(againDone.bestCheckpoint.featureCache, 'hit');
    assert.equal((await h.storage.list('cache/features/')).filter((o) => o.key.endsWith('meta.json')).length, 1);

    // Metrics in Postgres match the epochs run; every listed checkpoint exists in S3.
    const metrics = (await http(app).get(`/v1/jobs/${ft.id}/metrics`)).body.data;
    assert.deepEqual(metrics.map((m: { epoch: number }) => m.epoch), [1, 2, 3]);
    for (const m of metrics) assert.ok(Number.isFinite(m.loss) && m.examplesPerSec > 0 && m.valAccuracy !== null);
    const checkpoints = (await http(app).get(`/v1/jobs/${ft.id}/checkpoints`)).body.data;
    assert.deepEqual(checkpoints.map((c: { epoch: number }) => c.epoch), [1, 2, 3]);
    for (const c of checkpoints) {
      const key = c.uri.replace(`s3://${h.config.s3.bucket}/`, '');
      const prefix = key.replace(/model\.json$/, '');
      const files = (await h.storage.list(prefix)).map((o) => o.key.slice(prefix.length)).sort();
      assert.deepEqual(files, ['model.json', 'optimizer.bin', 'state.json', 'weights.bin']);
    }

    // The fine-tuned model: lineage, and loadable straight from the API.
    const out = (await http(app).get(`/v1/models/${done.outputModelId}`)).body;
    assert.equal(out.kind, 'fine_tuned');
    assert.deepEqual(out.lineage, { parentModelId: base.id, jobId: ft.id });
    assert.deepEqual(out.labels, ['5', '6', '7', '8', '9']);
    assert.ok(out.trainableParams < out.totalParams, 'the base layers are frozen');

    // Another service loads it with its key, or through a short-lived signed URL and no key at all.
    const plain = `${baseUrl}/v1/models/${out.id}/model.json`;
    assert.equal((await fetch(plain)).status, 401);
    const withKey = await tf.loadLayersModel(plain, { requestInit: { headers: { authorization: `Bearer ${h.tenant.apiKey}` } } });
    withKey.dispose();
    const signed = (await http(app).post(`/v1/models/${out.id}/download-url`)).body;
    assert.ok(Date.parse(signed.expiresAt) > Date.now());
    const loaded = await tf.loadLayersModel(`${baseUrl}${signed.url}`);
    // The signature opens this model only, and a tampered one opens nothing.
    assert.equal((await fetch(`${baseUrl}${signed.url.replace(out.id, base.id)}`)).status, 401);
    // Tampered: its first character changed (to one it is not: a signature may start with any).
    const tampered = signed.url.replace(/signature=(.)/, (_: string, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`);
    assert.notEqual(tampered, signed.url);
    assert.equal((await fetch(`${baseUrl}${tampered}`)).status, 401);
    const x = tf.zeros([2, 28, 28, 1]);
    const y = loaded.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 5]);
    const sums = (await y.sum(1).data()) as Float32Array;
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-4);
    tf.dispose([x, y]);
    loaded.dispose();

    // Lists: the jobs list pages with a cursor and filters by status.
    const page1 = (await http(app).get('/v1/jobs?limit=1')).body;
    assert.equal(page1.data.length, 1);
    assert.equal(page1.hasMore, true);
    const page2 = (await http(app).get(`/v1/jobs?limit=1&after=${page1.nextCursor}`)).body;
    assert.equal(page2.data.length, 1);
    assert.notEqual(page2.data[0].id, page1.data[0].id);
    const succeeded = (await http(app).get('/v1/jobs?status=succeeded')).body;
    assert.equal(succeeded.data.length, 3);
    const failedList = (await http(app).get('/v1/jobs?status=failed')).body;
    assert.equal(failedList.data.length, 0);

    // A model a finished job used can be deleted; its files go with it.
    const del = await http(app).delete(`/v1/models/${out.id}`);
    assert.equal(del.status, 204);
    assert.equal((await http(app).get(`/v1/models/${out.id}`)).status, 404);
    assert.equal((await h.storage.list(`models/${out.id}/`)).length, 0);
  });
});
