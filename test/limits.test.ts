// Limits on how much and how often, each at its boundary: the limit passes and
// one more is refused with a 4xx that names it (a 429 with Retry-After for the
// rates), and one tenant's use does not count against another's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness, type Tenant } from './helpers/harness.ts';
import { http, tinyMlp } from './helpers/api.ts';
import { uploadTinyModel } from './helpers/fixtures.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';
import { s3IOHandler } from '../apps/shared/ml/s3-io-handler.ts';
import { tf } from '../apps/shared/ml/tf.ts';

const LIMITS = {
  RATE_LIMIT_PER_MINUTE: '12',
  MAX_QUEUED_JOBS_PER_TENANT: '2',
  MAX_DATASET_ROWS: '100',
  // MNIST's 28×28 pixels, exactly.
  MAX_DATASET_FEATURES: '784',
  MAX_DATASET_BYTES: '16384',
  MAX_DATASET_CLASSES: '5',
  // tinyMlp(2) on MNIST: 784×32+32 + 32×2+2.
  MAX_MODEL_PARAMS: '25186',
  // uploadTinyModel(4 inputs): (4×8+8 + 8×3+3) float32s.
  MAX_MODEL_BYTES: String(67 * 4),
  MAX_MODEL_LAYERS: '3',
  MAX_EPOCH_EXAMPLES: '600',
  BODY_LIMIT_BYTES: '1024',
  MAX_PAGE_SIZE: '7',
  MAX_EVENT_PAGE_SIZE: '9',
};

function expectLimit(res: { status: number; body: any }, status: number, code: string, setting?: string, limit?: number) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  if (setting) {
    assert.equal(res.body.error.details.setting, setting);
    assert.equal(res.body.error.details.limit, limit);
    assert.match(res.body.error.message, new RegExp(setting));
  }
}

const csv = (rows: number, features: number) => {
  const header = [...Array.from({ length: features }, (_, i) => `f${i}`), 'label'].join(',');
  const lines = Array.from({ length: rows }, (_, r) => [...Array.from({ length: features }, (_, i) => (r + i) % 7), r % 2 ? 'a' : 'b'].join(','));
  return [header, ...lines].join('\n') + '\n';
};

/** A Sequential model of `layers` dense layers (4 inputs → 3 classes). */
async function uploadDeepModel(h: Harness, prefix: string, layers: number) {
  const model = tf.sequential({
    layers: Array.from({ length: layers }, (_, i) => tf.layers.dense({ ...(i === 0 ? { inputShape: [4] } : {}), units: 3, activation: i === layers - 1 ? 'softmax' : 'relu' })),
  });
  await model.save(s3IOHandler(h.storage, prefix));
  model.dispose();
  return `s3://${h.storage.bucket}/${prefix}model.json`;
}

describe('limits', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ env: LIMITS });
  });
  after(() => h?.close());

  async function s3Dataset(tenant: Tenant, name: string, body: string, format: 'csv' | 'ndjson' = 'csv') {
    const key = uploadPrefix(tenant.tenantId) + name;
    await h.storage.put(key, body);
    return http(h.app, tenant.apiKey).post('/v1/datasets').send({ name, source: { type: 's3', uri: `s3://${h.storage.bucket}/${key}`, format, labelColumn: 'label' } });
  }

  it('MAX_DATASET_ROWS rows register; one more is a 413 that names the limit (CSV, NDJSON, MNIST)', async () => {
    const t = await h.newTenant('rows');
    assert.equal((await s3Dataset(t, 'rows/100.csv', csv(100, 2))).status, 201);
    expectLimit(await s3Dataset(t, 'rows/101.csv', csv(101, 2)), 413, 'dataset_too_many_rows', 'MAX_DATASET_ROWS', 100);
    const nd = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ x: i, label: i % 2 ? 'a' : 'b' })).join('\n');
    assert.equal((await s3Dataset(t, 'rows/100.ndjson', nd(100), 'ndjson')).status, 201);
    expectLimit(await s3Dataset(t, 'rows/101.ndjson', nd(101), 'ndjson'), 413, 'dataset_too_many_rows', 'MAX_DATASET_ROWS', 100);
    const mnist = (count: number) => http(h.app, t.apiKey).post('/v1/datasets').send({ name: 'm', source: { type: 'mnist', classes: [0, 1], count } });
    assert.equal((await mnist(100)).status, 201);
    expectLimit(await mnist(101), 413, 'dataset_too_many_rows', 'MAX_DATASET_ROWS', 100);
    assert.equal(await h.db.dataset.count({ where: { tenantId: t.tenantId } }), 3);
  });

  it('MAX_DATASET_FEATURES features register (MNIST has 784); 785 is a 413', async () => {
    const t = await h.newTenant('features');
    assert.equal((await s3Dataset(t, 'features/784.csv', csv(2, 784))).status, 201);
    expectLimit(await s3Dataset(t, 'features/785.csv', csv(2, 785)), 413, 'dataset_too_many_features', 'MAX_DATASET_FEATURES', 784);
    const mnist = await http(h.app, t.apiKey).post('/v1/datasets').send({ name: 'm', source: { type: 'mnist', classes: [0, 1], count: 10 } });
    assert.equal(mnist.status, 201);
    assert.deepEqual(mnist.body.featureShape, [28, 28, 1]);
  });

  it('MAX_DATASET_CLASSES distinct labels register; one more is a 413 (CSV and MNIST), and nothing is stored', async () => {
    const t = await h.newTenant('classes');
    const labelled = (classes: number) => ['f0,label', ...Array.from({ length: 12 }, (_, i) => `${i},=cmd|${i % classes}`)].join('\n');
    const five = await s3Dataset(t, 'classes/5.csv', labelled(5));
    assert.equal(five.status, 201, JSON.stringify(five.body));
    assert.equal(five.body.numClasses, 5);
    const snapshots = (await h.storage.list('datasets/')).length;
    expectLimit(await s3Dataset(t, 'classes/6.csv', labelled(6)), 413, 'dataset_too_many_classes', 'MAX_DATASET_CLASSES', 5);
    assert.equal((await h.storage.list('datasets/')).length, snapshots, 'no snapshot of the refused file');
    const digits = (classes: number[]) => http(h.app, t.apiKey).post('/v1/datasets').send({ name: 'm', source: { type: 'mnist', classes, count: 30 } });
    assert.equal((await digits([0, 1, 2, 3, 4])).status, 201);
    expectLimit(await digits([0, 1, 2, 3, 4, 5]), 413, 'dataset_too_many_classes', 'MAX_DATASET_CLASSES', 5);
    assert.equal(await h.db.dataset.count({ where: { tenantId: t.tenantId } }), 2);
  });

  it('a MAX_DATASET_BYTES file registers; one byte more is a 413 object_too_large', async () => {
    const t = await h.newTenant('bytes');
    const base = csv(10, 2);
    const exact = base + '\n'.repeat(16384 - Buffer.byteLength(base));
    assert.equal(Buffer.byteLength(exact), 16384);
    assert.equal((await s3Dataset(t, 'bytes/exact.csv', exact)).status, 201);
    expectLimit(await s3Dataset(t, 'bytes/over.csv', exact + '\n'), 413, 'object_too_large', 'MAX_DATASET_BYTES', 16384);
  });

  it('a body of BODY_LIMIT_BYTES is read; one byte more is a 413 body_too_large', async () => {
    const t = await h.newTenant('body');
    const json = JSON.stringify({ name: 'padded', source: { type: 'mnist', classes: [0, 1], count: 10 } });
    const send = (bytes: number) => http(h.app, t.apiKey).post('/v1/datasets').set('content-type', 'application/json').send(json + ' '.repeat(bytes - json.length));
    assert.equal((await send(1024)).status, 201);
    expectLimit(await send(1025), 413, 'body_too_large');
  });

  it('a page holds MAX_PAGE_SIZE items (MAX_EVENT_PAGE_SIZE events); one more is a 400 page_size_exceeded, and /openapi.json states the bound', async () => {
    const t = await h.newTenant('pages');
    const api = () => http(h.app, t.apiKey);
    const digits = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id;
    const job = (await api().post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: digits, hyperparameters: { epochs: 1 } })).body.id;
    for (const list of ['/v1/jobs', '/v1/models', '/v1/datasets']) {
      assert.equal((await api().get(`${list}?limit=7`)).status, 200, list);
      expectLimit(await api().get(`${list}?limit=8`), 400, 'page_size_exceeded', 'MAX_PAGE_SIZE', 7);
    }
    assert.equal((await api().get(`/v1/jobs/${job}/events?limit=9`)).status, 200);
    const over = await api().get(`/v1/jobs/${job}/events?limit=10`);
    expectLimit(over, 400, 'page_size_exceeded', 'MAX_EVENT_PAGE_SIZE', 9);
    assert.equal(over.body.error.details.actual, 10);

    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    const limitParam = (path: string) => doc.paths[path].get.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.match(limitParam('/v1/datasets').description, /1 to 7 \(MAX_PAGE_SIZE\)/);
    assert.equal(limitParam('/v1/datasets').schema.default, 7, 'the default page fits under the limit');
    assert.match(limitParam('/v1/jobs/{id}/events').description, /1 to 9 \(MAX_EVENT_PAGE_SIZE\)/);
  });

  it('a model of MAX_MODEL_BYTES, MAX_MODEL_LAYERS layers and MAX_MODEL_PARAMS parameters registers; one more of each is a 422', async () => {
    const t = await h.newTenant('models');
    const register = (uri: string) => http(h.app, t.apiKey).post('/v1/models').send({ name: 'm', uri });
    assert.equal((await register(await uploadTinyModel(h.storage, `${uploadPrefix(t.tenantId)}models-limit/tiny4/`, 4))).status, 201, 'exactly MAX_MODEL_BYTES');
    expectLimit(await register(await uploadTinyModel(h.storage, `${uploadPrefix(t.tenantId)}models-limit/tiny5/`, 5)), 422, 'model_too_large', 'MAX_MODEL_BYTES', 268);
    assert.equal((await register(await uploadDeepModel(h, `${uploadPrefix(t.tenantId)}models-limit/deep3/`, 3))).status, 201, 'exactly MAX_MODEL_LAYERS');
    expectLimit(await register(await uploadDeepModel(h, `${uploadPrefix(t.tenantId)}models-limit/deep4/`, 4)), 422, 'model_too_many_layers', 'MAX_MODEL_LAYERS', 3);
    assert.equal(await h.db.model.count({ where: { tenantId: t.tenantId } }), 2);
  });

  it('a job\'s model: MAX_MODEL_LAYERS and MAX_MODEL_PARAMS pass, one more layer or parameter is a 422; finetune counts the base up to the cut', async () => {
    const t = await h.newTenant('job models');
    const api = () => http(h.app, t.apiKey);
    const digits = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id;
    const pretrain = (architecture: unknown[]) => api().post('/v1/jobs').send({ type: 'pretrain', architecture, trainDatasetId: digits });
    assert.equal((await pretrain(tinyMlp(2))).status, 202, '3 layers, 25186 parameters');
    expectLimit(await pretrain([{ type: 'flatten' }, { type: 'dropout', rate: 0.1 }, ...tinyMlp(2).slice(1)]), 422, 'model_too_many_layers', 'MAX_MODEL_LAYERS', 3);
    const wider = [{ type: 'flatten' }, { type: 'dense', units: 33, activation: 'relu' }, { type: 'dense', units: 2, activation: 'softmax' }];
    expectLimit(await pretrain(wider), 422, 'model_too_large', 'MAX_MODEL_PARAMS', 25186);

    const table = (await s3Dataset(t, 'job-models/t.csv', csv(30, 4))).body;
    assert.equal(table.numClasses, 2);
    const model = (await api().post('/v1/models').send({ name: 'tiny', uri: await uploadTinyModel(h.storage, `${uploadPrefix(t.tenantId)}job-models/tiny/`, 4) })).body.id;
    // Room in the queue (MAX_QUEUED_JOBS_PER_TENANT is 2), so only the layer limit can refuse.
    await api().post(`/v1/jobs/${(await api().get('/v1/jobs')).body.data[0].id}/cancel`);
    const finetune = (head: unknown[]) => api().post('/v1/jobs').send({ baseModelId: model, trainDatasetId: table.id, cutLayer: 'hidden', head });
    // The base up to and including "hidden" is one layer; two head layers make three.
    assert.equal((await finetune([{ type: 'dense', units: 4 }, { type: 'dense', units: 2, activation: 'softmax' }])).status, 202);
    expectLimit(await finetune([{ type: 'dense', units: 4 }, { type: 'dense', units: 4 }, { type: 'dense', units: 2, activation: 'softmax' }]), 422, 'model_too_many_layers', 'MAX_MODEL_LAYERS', 3);
    assert.equal(await h.db.job.count({ where: { tenantId: t.tenantId } }), 2, 'no refused job left a row');
  });

  it('epochs × examples up to MAX_EPOCH_EXAMPLES is accepted; one epoch more is a 422 job_too_large', async () => {
    const t = await h.newTenant('work');
    const api = () => http(h.app, t.apiKey);
    const digits = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id;
    const job = (epochs: number) => api().post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: digits, hyperparameters: { epochs } });
    assert.equal((await job(30)).status, 202, '30 × 20 = 600');
    const over = await job(31);
    expectLimit(over, 422, 'job_too_large', 'MAX_EPOCH_EXAMPLES', 600);
    assert.equal(over.body.error.details.actual, 620);
    assert.equal(await h.db.job.count({ where: { tenantId: t.tenantId } }), 1);
  });

  it('a tenant may have MAX_QUEUED_JOBS_PER_TENANT queued jobs; one more is 429 until one leaves the queue', async () => {
    const tenant = await h.newTenant('queue limit');
    const api = () => http(h.app, tenant.apiKey);
    const dataset = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id;
    const body = { type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: dataset };
    const first = await api().post('/v1/jobs').send(body);
    assert.equal(first.status, 202);
    assert.equal((await api().post('/v1/jobs').send(body)).status, 202);
    const third = await api().post('/v1/jobs').send(body);
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'too_many_queued_jobs');
    assert.equal(third.headers['retry-after'], '30');
    assert.equal(await h.db.job.count({ where: { tenantId: tenant.tenantId } }), 2, 'nothing half-written');
    assert.equal((await api().post(`/v1/jobs/${first.body.id}/cancel`)).status, 202);
    assert.equal((await api().post('/v1/jobs').send(body)).status, 202);
  });

  it('submits at once never take a tenant past MAX_QUEUED_JOBS_PER_TENANT', async () => {
    const tenant = await h.newTenant('queue race');
    const api = () => http(h.app, tenant.apiKey);
    const dataset = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id;
    const body = { type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: dataset };
    const answers = await Promise.all(Array.from({ length: 8 }, () => api().post('/v1/jobs').send(body)));
    const accepted = answers.filter((r) => r.status === 202).map((r) => r.body.id as string);
    assert.ok(answers.every((r) => r.status === 202 || r.body.error?.code === 'too_many_queued_jobs'), JSON.stringify(answers.map((r) => r.status)));
    const rows = await h.db.job.findMany({ where: { tenantId: tenant.tenantId }, select: { id: true } });
    assert.ok(rows.length <= 2, `${rows.length} jobs queued for a quota of 2`);
    assert.deepEqual(rows.map((r) => r.id).sort(), accepted.sort(), 'every 202 has its row, and no refused submit left one');
  });

  it('RATE_LIMIT_PER_MINUTE requests pass, the next is 429 with Retry-After, and other tenants are unaffected', async () => {
    // Stay inside one fixed window.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const [a, b] = [await h.newTenant('rate A'), await h.newTenant('rate B')];
    for (let i = 0; i < 12; i++) assert.equal((await http(h.app, a.apiKey).get('/v1/jobs')).status, 200, `request ${i + 1}`);
    const over = await http(h.app, a.apiKey).get('/v1/jobs');
    assert.equal(over.status, 429);
    assert.equal(over.body.error.code, 'rate_limited');
    assert.match(over.body.error.message, /RATE_LIMIT_PER_MINUTE/);
    const retry = Number(over.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal((await http(h.app, b.apiKey).get('/v1/jobs')).status, 200, 'another tenant has its own budget');
  });
});
