// Registering a user's model and tabular data from S3, fine-tuning on them,
// and serving the result; plus the health endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, waitForJob } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';

describe('models and tabular datasets', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(() => h?.close());

  it('registers a LayersModel from S3 with its layers, parameters and shapes', async () => {
    const uri = await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    const res = await http(h.app).post('/v1/models').send({ name: 'tiny', uri, labels: ['a', 'b', 'c'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.location, `/v1/models/${res.body.id}`);
    const m = res.body;
    assert.equal(m.kind, 'base');
    assert.equal(m.sourceUri, uri);
    assert.deepEqual(m.inputShape, [null, 4]);
    assert.deepEqual(m.outputShape, [null, 3]);
    assert.deepEqual(m.layers.map((l: { name: string; className: string }) => [l.name, l.className]), [['hidden', 'Dense'], ['out', 'Dense']]);
    assert.equal(m.totalParams, 4 * 8 + 8 + 8 * 3 + 3);
    assert.equal(m.trainableParams, m.totalParams);
    assert.deepEqual(m.lineage, { parentModelId: null, jobId: null });

    // Served files are our copy, byte for byte what the manifest declares.
    const json = await http(h.app).get(`/v1/models/${m.id}/model.json`);
    assert.equal(json.status, 200);
    assert.deepEqual(JSON.parse(json.text).weightsManifest[0].paths, ['weights.bin']);
    const weights = await http(h.app).get(`/v1/models/${m.id}/weights.bin`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal((weights.body as Buffer).length, m.totalParams * 4);
    const list = (await http(h.app).get('/v1/models')).body;
    assert.equal(list.data.length, 1);
    assert.equal((await http(h.app).get(`/v1/models/${m.id}/other.bin`)).status, 400);
  });

  it('refuses model files that lie or carry unknown layers, and stores nothing', async () => {
    await uploadTinyModel(h.storage, `${h.uploads}truncated/`);
    const bytes = await h.storage.getBytes(`${h.uploads}truncated/weights.bin`);
    await h.storage.put(`${h.uploads}truncated/weights.bin`, bytes.subarray(0, bytes.length - 4));
    const truncated = await http(h.app).post('/v1/models').send({ name: 'x', uri: `s3://${h.storage.bucket}/${h.uploads}truncated/model.json` });
    assert.equal(truncated.status, 422);
    assert.equal(truncated.body.error.code, 'model_invalid');

    await uploadTinyModel(h.storage, `${h.uploads}lambda/`);
    const json = JSON.parse(Buffer.from(await h.storage.getBytes(`${h.uploads}lambda/model.json`)).toString());
    json.modelTopology.config.layers[1].class_name = 'Lambda';
    await h.storage.put(`${h.uploads}lambda/model.json`, JSON.stringify(json));
    const lambda = await http(h.app).post('/v1/models').send({ name: 'x', uri: `s3://${h.storage.bucket}/${h.uploads}lambda/model.json` });
    assert.equal(lambda.status, 422);
    assert.equal(lambda.body.error.details.className, 'Lambda');

    // A manifest that declares absurd weights is refused before any shard is fetched.
    await uploadTinyModel(h.storage, `${h.uploads}absurd/`);
    const absurd = JSON.parse(Buffer.from(await h.storage.getBytes(`${h.uploads}absurd/model.json`)).toString());
    absurd.weightsManifest[0].weights[0].shape = [100_000_000, 8];
    await h.storage.put(`${h.uploads}absurd/model.json`, JSON.stringify(absurd));
    const tooBig = await http(h.app).post('/v1/models').send({ name: 'x', uri: `s3://${h.storage.bucket}/${h.uploads}absurd/model.json` });
    assert.equal(tooBig.status, 422);
    assert.equal(tooBig.body.error.code, 'model_too_large');

    assert.equal(await h.db.model.count(), 1);
    assert.equal((await h.storage.list('models/')).length, 2, 'only the good model was copied');
  });

  it('gives presigned upload URLs in the caller\'s upload area only', async () => {
    const res = await http(h.app).post('/v1/uploads').send({ name: 'csv/iris.csv' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.uri, `s3://${h.storage.bucket}/${h.uploads}csv/iris.csv`);
    assert.equal(res.body.method, 'PUT');
    assert.match(res.body.url, new RegExp(`^${h.config.s3.endpoint}/${h.storage.bucket}/${h.uploads}csv/iris\\.csv\\?.*X-Amz-Signature=`));
    assert.doesNotMatch(res.body.url, /x-amz-checksum/i, 'no checksum of an empty body is signed into it');
    const ttl = Date.parse(res.body.expiresAt) - Date.now();
    assert.ok(ttl > 800_000 && ttl <= 900_000, `valid for UPLOAD_URL_TTL_SECONDS (${ttl} ms)`);
    for (const name of ['../x.csv', 'a/../../x.csv', '/abs.csv', 'a//b.csv', '.', 'a/./b', 'a\\b.csv', 'a b.csv', '', 'x'.repeat(513)]) {
      const bad = await http(h.app).post('/v1/uploads').send({ name });
      assert.equal(bad.status, 400, `${JSON.stringify(name)}: ${JSON.stringify(bad.body)}`);
      assert.equal(bad.body.error.code, 'validation_failed');
    }
  });

  it('fine-tunes a registered model on CSV data put through a presigned URL, with a validation split', async () => {
    const upload = (await http(h.app).post('/v1/uploads').send({ name: 'iris.csv' })).body;
    const put = await fetch(upload.url, { method: upload.method, body: irisLikeCsv(90) });
    assert.equal(put.status, 200, await put.text());
    const ds = await createDataset(h.app, 'iris-like', { type: 's3', uri: upload.uri, format: 'csv', labelColumn: 'species' });
    assert.deepEqual(ds.featureShape, [4]);
    assert.deepEqual(ds.labels, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(ds.classCounts, [{ label: 'setosa', count: 30 }, { label: 'versicolor', count: 30 }, { label: 'virginica', count: 30 }]);
    const got = (await http(h.app).get(`/v1/datasets/${ds.id}`)).body;
    assert.equal(got.numClasses, 3);
    assert.equal((await http(h.app).get('/v1/datasets')).body.data.length, 1);

    const base = (await http(h.app).get('/v1/models')).body.data[0];
    const body = {
      baseModelId: base.id,
      cutLayer: 'hidden',
      head: [{ type: 'dense', units: 3, activation: 'softmax' }],
      hyperparameters: { epochs: 2, batchSize: 16, optimizer: 'sgd', learningRate: 0.1, validationSplit: 0.2 },
      trainDatasetId: ds.id,
    };
    const job = await submitJob(h.app, body);
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.spec.cutLayer, 'hidden');
    assert.equal(done.evaluation.split, 'validation', 'with no test set, the validation split is scored');
    assert.equal(done.evaluation.numExamples, 18);
    assert.equal(done.latestMetrics.epoch, 2);
    const out = (await http(h.app).get(`/v1/models/${done.outputModelId}`)).body;
    assert.deepEqual(out.labels, ['setosa', 'versicolor', 'virginica']);
    assert.equal(out.trainableParams, 8 * 3 + 3, 'only the new head trains');
    assert.equal(done.bestCheckpoint.featureCache, 'miss');

    // The feature cache is keyed by the examples' bytes, not the dataset's id.
    const again = async () => {
      const j = await submitJob(h.app, body);
      const d = await waitForJob(h.app, j.id, finished);
      assert.equal(d.status, 'succeeded', JSON.stringify(d.error));
      return d.bestCheckpoint.featureCache;
    };
    assert.equal(await again(), 'hit', 'the same examples');
    // The dataset's stored bytes change under the same id (one value of one row of its float32 shard).
    const shardKey = `datasets/${ds.id}/shard-00000.f32`;
    const shard = Buffer.from(await h.storage.getBytes(shardKey));
    shard.writeFloatLE(7.25, 4 * 4 * 4);
    await h.storage.put(shardKey, shard);
    assert.equal(await again(), 'miss', 'other bytes, same dataset id');
    assert.equal((await h.storage.list('cache/features/')).filter((o) => o.key.endsWith('meta.json')).length, 2);
  });

  it('trains a conv net in full on wasm (its missing gradient kernels are registered)', async () => {
    const digits = await createDataset(h.app, 'few digits', { type: 'mnist', classes: [0, 1], count: 60 });
    const job = await submitJob(h.app, {
      type: 'pretrain',
      architecture: [
        { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
        { type: 'maxPooling2d', poolSize: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 2, activation: 'softmax' },
      ],
      hyperparameters: { epochs: 2, batchSize: 20, optimizer: 'adadelta', learningRate: 1 },
      trainDatasetId: digits.id,
    });
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.backend, 'wasm');
    const metrics = (await http(h.app).get(`/v1/jobs/${job.id}/metrics`)).body.data;
    assert.equal(metrics.length, 2);
  });

  it('reports health, readiness and the live worker with its backend', async () => {
    assert.deepEqual((await http(h.app).get('/healthz')).body, { status: 'ok' });
    const ready = await http(h.app).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ready, true);
    assert.deepEqual(ready.body.checks, { postgres: { ok: true }, redis: { ok: true }, s3: { ok: true } });
    assert.equal(ready.body.workers.length, 1);
    assert.equal(ready.body.workers[0].backend, 'wasm');
    assert.equal(ready.body.workers[0].device, 'CPU (WebAssembly, XNNPACK)');
    assert.ok(ready.headers['x-request-id']);
  });
});
