// Keys and tenants: every request names its caller; the admin key manages
// tenants and keys; and another tenant's ids are 404s on every endpoint that
// takes one, never 403s that would confirm they exist (OWASP API1).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, TEST_ADMIN_KEY, type Harness, type Tenant } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';

/** [method, path] for every route, read from Fastify's printRoutes({ commonPrefix: false }) tree. */
function registeredRoutes(tree: string): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([^)]+)\))?/.exec(line);
    if (!m) continue;
    stack.length = m[1].length / 4;
    stack.push(m[2]);
    for (const method of m[3]?.split(', ') ?? []) routes.push([method.toLowerCase(), stack.join('')]);
  }
  return routes;
}

describe('tenants and keys', () => {
  let h: Harness;
  let other: Tenant;
  const ids: Record<string, string> = {};

  before(async () => {
    h = await createHarness({ worker: true });
    other = await h.newTenant('tenant B');
    ids.dataset = (await createDataset(h.app, 'A digits', { type: 'mnist', classes: [0, 1], count: 100 })).id;
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(2), hyperparameters: { epochs: 1 }, trainDatasetId: ids.dataset });
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded');
    ids.job = job.id;
    ids.model = done.outputModelId;
    const advice = await http(h.app).post('/v1/advice').send({ baseModelId: ids.model, trainDatasetId: ids.dataset, budget: { sampleSize: 50 } });
    assert.equal(advice.status, 202, JSON.stringify(advice.body));
    ids.advice = advice.body.id;
    const sweep = await http(h.app).post('/v1/sweeps').send({ job: { baseModelId: ids.model, trainDatasetId: ids.dataset, hyperparameters: { epochs: 1 } }, space: { learningRate: [0.01] } });
    assert.equal(sweep.status, 202, JSON.stringify(sweep.body));
    ids.sweep = sweep.body.id;
  });
  after(() => h?.close());

  it('no key is 401 with WWW-Authenticate; a wrong key is 401; health and the OpenAPI document are public', async () => {
    for (const [method, url] of [['get', '/v1/jobs'], ['post', '/v1/datasets'], ['get', `/v1/models/${ids.model}/model.json`], ['get', '/v1/admin/tenants']] as const) {
      const res = await http(h.app, '')[method](url);
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    for (const bad of ['ft_not-a-real-key', `${h.tenant.apiKey}x`]) {
      const res = await http(h.app, bad).get('/v1/jobs');
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_api_key');
    }
    const malformed = await http(h.app, '').get('/v1/jobs').set('authorization', 'Basic abc');
    assert.equal(malformed.status, 401);
    const health = await http(h.app, '').get('/healthz');
    assert.equal(health.status, 200);
    // Security headers on every response, and no CORS grant.
    for (const res of [health, malformed]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    }
    assert.equal((await http(h.app, '').get('/openapi.json')).status, 200);
  });

  it('the admin key creates tenants and keys (shown once, stored hashed), lists and revokes them; the roles do not mix', async () => {
    const admin = (url: string) => http(h.app, TEST_ADMIN_KEY).post(url);
    const tenant = await admin('/v1/admin/tenants').send({ name: 'acme' });
    assert.equal(tenant.status, 201);
    const created = await admin(`/v1/admin/tenants/${tenant.body.id}/keys`).send({ name: 'ci' });
    assert.equal(created.status, 201);
    const key = created.body.key as string;
    assert.match(key, /^ft_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.slice(0, 10), created.body.prefix);
    const stored = await h.db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    assert.notEqual(stored.hash, key);
    assert.ok(!JSON.stringify(stored).includes(key), 'only a hash is stored');
    const listed = await http(h.app, TEST_ADMIN_KEY).get(`/v1/admin/tenants/${tenant.body.id}/keys`);
    assert.equal(listed.body.data.length, 1);
    assert.ok(!JSON.stringify(listed.body).includes(key), 'lists never show the key');
    assert.ok((await http(h.app, TEST_ADMIN_KEY).get('/v1/admin/tenants')).body.data.some((t: { id: string }) => t.id === tenant.body.id));

    // The new key works, sees an empty tenant, and stops working the moment it is revoked.
    assert.deepEqual((await http(h.app, key).get('/v1/jobs')).body.data, []);
    assert.equal((await admin(`/v1/admin/keys/${created.body.id}/revoke`)).body.revokedAt !== null, true);
    assert.equal((await http(h.app, key).get('/v1/jobs')).body.error.code, 'invalid_api_key');

    const tenantOnAdmin = await http(h.app).get('/v1/admin/tenants');
    assert.equal(tenantOnAdmin.status, 403);
    assert.equal(tenantOnAdmin.body.error.code, 'admin_only');
    const adminOnTenant = await http(h.app, TEST_ADMIN_KEY).get('/v1/jobs');
    assert.equal(adminOnTenant.status, 403);
    assert.equal(adminOnTenant.body.error.code, 'tenant_key_required');
    assert.equal((await admin('/v1/admin/tenants/00000000-0000-4000-8000-00000000abcd/keys').send({})).status, 404);
  });

  it('for every endpoint that takes an id, tenant B using tenant A\'s id gets 404', async () => {
    const B = (key = other.apiKey) => http(h.app, key);
    const cases: Array<[string, string, string, string]> = [
      ['get', '/v1/datasets/:id', `/v1/datasets/${ids.dataset}`, 'dataset_not_found'],
      ['post', '/v1/datasets/:id/cancel', `/v1/datasets/${ids.dataset}/cancel`, 'dataset_not_found'],
      ['get', '/v1/datasets/:id/events', `/v1/datasets/${ids.dataset}/events`, 'dataset_not_found'],
      ['get', '/v1/advice/:id', `/v1/advice/${ids.advice}`, 'advice_not_found'],
      ['get', '/v1/sweeps/:id', `/v1/sweeps/${ids.sweep}`, 'sweep_not_found'],
      ['post', '/v1/sweeps/:id/cancel', `/v1/sweeps/${ids.sweep}/cancel`, 'sweep_not_found'],
      ['get', '/v1/models/:id', `/v1/models/${ids.model}`, 'model_not_found'],
      ['get', '/v1/models/:id/:file', `/v1/models/${ids.model}/model.json`, 'model_not_found'],
      ['get', '/v1/models/:id/:file', `/v1/models/${ids.model}/weights.bin`, 'model_not_found'],
      ['get', '/v1/models/:id/base/:file', `/v1/models/${ids.model}/base/model.json`, 'model_not_found'],
      ['get', '/v1/models/:id/base/:file', `/v1/models/${ids.model}/base/weights.bin`, 'model_not_found'],
      ['post', '/v1/models/:id/download-url', `/v1/models/${ids.model}/download-url`, 'model_not_found'],
      ['delete', '/v1/models/:id', `/v1/models/${ids.model}`, 'model_not_found'],
      ['get', '/v1/jobs/:id', `/v1/jobs/${ids.job}`, 'job_not_found'],
      ['get', '/v1/jobs/:id/metrics', `/v1/jobs/${ids.job}/metrics`, 'job_not_found'],
      ['get', '/v1/jobs/:id/checkpoints', `/v1/jobs/${ids.job}/checkpoints`, 'job_not_found'],
      ['get', '/v1/jobs/:id/checkpoints/:epoch/:file', `/v1/jobs/${ids.job}/checkpoints/1/model.json`, 'job_not_found'],
      ['get', '/v1/jobs/:id/checkpoints/:epoch/:file', `/v1/jobs/${ids.job}/checkpoints/1/weights.bin`, 'job_not_found'],
      ['get', '/v1/jobs/:id/events', `/v1/jobs/${ids.job}/events`, 'job_not_found'],
      ['get', '/v1/jobs/:id/webhook-deliveries', `/v1/jobs/${ids.job}/webhook-deliveries`, 'job_not_found'],
      ['post', '/v1/jobs/:id/cancel', `/v1/jobs/${ids.job}/cancel`, 'job_not_found'],
      ['post', '/v1/jobs/:id/pause', `/v1/jobs/${ids.job}/pause`, 'job_not_found'],
      ['post', '/v1/jobs/:id/resume', `/v1/jobs/${ids.job}/resume`, 'job_not_found'],
      ['post', '/v1/jobs/:id/retry', `/v1/jobs/${ids.job}/retry`, 'job_not_found'],
    ];
    for (const [method, , url, code] of cases) {
      const res = await B()[method as 'get'](url);
      assert.equal(res.status, 404, `${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, `${method} ${url}`);
    }
    const sse = await B().get(`/v1/jobs/${ids.job}/events`).set('accept', 'text/event-stream');
    assert.equal(sse.status, 404, 'the event stream too');

    // Every route that takes an id is covered above, whether or not it is in the OpenAPI
    // document: the router's own table (printRoutes) is the list, so a new route cannot slip by.
    const covered = new Set(cases.map(([m, route]) => `${m} ${route}`));
    const routes = registeredRoutes(h.app.printRoutes({ commonPrefix: false }));
    assert.ok(routes.length > 20 && routes.some(([, p]) => p === '/v1/jobs/:id/events'), 'the route table was read');
    const withId = routes.filter(([m, p]) => /:\w+/.test(p) && m !== 'head' && m !== 'options' && !/^\/(v1\/)?admin\//.test(p));
    for (const [m, p] of withId) assert.ok(covered.has(`${m} ${p}`), `not covered: ${m} ${p} (add it to the cases above)`);
    const doc = (await http(h.app, '').get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.includes('{') || path.startsWith('/v1/admin')) continue;
      for (const m of Object.keys(methods)) assert.ok(covered.has(`${m} ${path.replace(/\{(\w+)\}/g, ':$1')}`), `not covered: ${m} ${path}`);
    }

    // A's ids in B's job body are unknown there too; B's lists hold none of A's things.
    const job = await B().post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.dataset });
    assert.equal(job.status, 422);
    assert.equal(job.body.error.code, 'dataset_not_found');
    const ownData = (await B().post('/v1/datasets').send({ name: 'B digits', source: { type: 'mnist', classes: [0, 1], count: 50 } })).body.id;
    const withA = await B().post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ownData });
    assert.equal(withA.body.error.code, 'model_not_found');
    for (const list of ['/v1/jobs', '/v1/models', '/v1/datasets', '/v1/sweeps', `/v1/jobs?sweepId=${ids.sweep}`]) {
      const seen = (await B().get(list)).body.data.map((x: { id: string }) => x.id);
      assert.ok(!seen.includes(ids.job) && !seen.includes(ids.model) && !seen.includes(ids.dataset) && !seen.includes(ids.sweep), list);
      if (list.includes('sweep')) assert.deepEqual(seen, [], list);
    }
    // And nothing of A's changed.
    assert.equal((await http(h.app).get(`/v1/jobs/${ids.job}`)).body.status, 'succeeded');
    assert.equal((await http(h.app).get(`/v1/models/${ids.model}`)).status, 200);
  });

  it("registration never reads A's models, checkpoints, datasets, caches or upload area for B, and the refusal does not tell whether the object exists", async () => {
    const bucket = h.storage.bucket;
    // A's things in every place the service keeps them, and in A's upload area.
    await h.storage.put(`${h.uploads}iris.csv`, irisLikeCsv(30));
    const csv = await createDataset(h.app, 'A iris', { type: 's3', uri: `s3://${bucket}/${h.uploads}iris.csv`, format: 'csv', labelColumn: 'species' });
    await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    await h.storage.put('cache/features/0123abcd/features.bin', new Uint8Array(16));
    const checkpoint = (await http(h.app).get(`/v1/jobs/${ids.job}/checkpoints`)).body.data[0].uri.replace(`s3://${bucket}/`, '');
    const places: Array<[kind: 'model' | 'dataset', existing: string, missing: string]> = [
      ['model', `models/${ids.model}/model.json`, 'models/00000000-0000-4000-8000-000000000000/model.json'],
      ['model', checkpoint, `jobs/${ids.job}/checkpoints/epoch-99/model.json`],
      ['dataset', `datasets/${csv.id}/index.json`, 'datasets/00000000-0000-4000-8000-000000000000/index.json'],
      ['dataset', 'cache/features/0123abcd/features.bin', 'cache/features/ffff/features.bin'],
      ['dataset', `${h.uploads}iris.csv`, `${h.uploads}nothing-here.csv`],
      ['model', `${h.uploads}tiny/model.json`, `${h.uploads}nothing-here/model.json`],
    ];
    const B = http(h.app, other.apiKey);
    const register = (kind: 'model' | 'dataset', key: string) => kind === 'model'
      ? B.post('/v1/models').send({ name: 'copy', uri: `s3://${bucket}/${key}` })
      : B.post('/v1/datasets').send({ name: 'copy', source: { type: 's3', uri: `s3://${bucket}/${key}`, format: 'csv', labelColumn: 'species' } });
    for (const [kind, existing, missing] of places) {
      assert.ok((await h.storage.list(existing)).some((o) => o.key === existing), `${existing} is really there`);
      const there = await register(kind, existing);
      const absent = await register(kind, missing);
      assert.equal(there.status, 422, `${existing}: ${JSON.stringify(there.body)}`);
      assert.equal(there.body.error.code, 'source_key_not_allowed');
      assert.deepEqual(there.body.error.details, { allowed: [`s3://${bucket}/${uploadPrefix(other.tenantId)}`] });
      assert.equal(absent.status, there.status, missing);
      assert.deepEqual(absent.body, there.body, `the same answer for ${existing} and ${missing}`);
    }
    // Not even A may register the service's own copies.
    const own = await http(h.app).post('/v1/models').send({ name: 'again', uri: `s3://${bucket}/models/${ids.model}/model.json` });
    assert.equal(own.body.error.code, 'source_key_not_allowed');
    // B has nothing of A's, and from its own area B registers as usual.
    assert.deepEqual((await B.get('/v1/models')).body.data, []);
    assert.equal((await B.get('/v1/datasets')).body.data.length, 1, "only B's own MNIST dataset");
    const mine = await B.post('/v1/models').send({ name: 'mine', uri: await uploadTinyModel(h.storage, `${uploadPrefix(other.tenantId)}tiny/`) });
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
  });
});
