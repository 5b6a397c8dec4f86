// Idempotency-Key on POSTs: a retry with the same key and body replays the
// first response from Postgres and creates nothing; anything else with that
// key is refused, and a key is never blocked by a request that failed or died.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { requestHash } from '../apps/api/src/plugins/idempotency.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('idempotency keys', () => {
  let h: Harness;
  let datasetId: string;
  const jobBody = (epochs = 1) => ({ type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs }, trainDatasetId: datasetId });
  const post = (url: string, key?: string) => (key === undefined ? http(h.app).post(url) : http(h.app).post(url).set('Idempotency-Key', key));
  const jobs = () => h.db.job.count();
  const row = (key: string) => h.db.idempotencyKey.findUnique({ where: { scope_key: { scope: h.tenant.tenantId, key } } });

  function expectError(res: { status: number; body: any }, status: number, code: string) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  }

  before(async () => {
    h = await createHarness();
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 60 })).id;
  });
  after(() => h?.close());

  it('a POST without the header behaves as before', async () => {
    const before = await jobs();
    const rows = await h.db.idempotencyKey.count();
    const a = await submitJob(h.app, jobBody());
    const res = await post('/v1/jobs').send(jobBody());
    assert.equal(res.status, 202);
    assert.notEqual(res.body.id, a.id);
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.equal(await jobs(), before + 2);
    assert.equal(await h.db.idempotencyKey.count(), rows, 'no key stored');
  });

  it('the same key and body replay the first response and create nothing', async () => {
    const key = randomUUID();
    const before = await jobs();
    const first = await post('/v1/jobs', key).send(jobBody());
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.headers['idempotent-replayed'], undefined);
    // The same body with its keys in another order is the same request.
    const { hyperparameters, trainDatasetId, architecture, type } = jobBody();
    const again = await post('/v1/jobs', key).send({ trainDatasetId, hyperparameters, architecture, type });
    assert.equal(again.status, 202);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, first.text, 'byte-for-byte the same body');
    assert.equal(again.headers.location, first.headers.location);
    assert.match(again.headers['content-type'], /application\/json/);
    assert.equal(await jobs(), before + 1, 'exactly one job');
    const stored = await row(key);
    assert.equal(stored?.state, 'done');
    assert.equal(stored?.statusCode, 202);
    const ttlMs = h.config.idempotencyTtlHours * 3_600_000;
    assert.ok(Math.abs(stored!.expiresAt.getTime() - stored!.createdAt.getTime() - ttlMs) < 1000, 'kept for IDEMPOTENCY_TTL_HOURS');
  });

  it('the same key with another body or endpoint is a 422 idempotency_key_reused', async () => {
    const key = randomUUID();
    await post('/v1/jobs', key).send(jobBody()).expect(202);
    const before = await jobs();
    expectError(await post('/v1/jobs', key).send(jobBody(2)), 422, 'idempotency_key_reused');
    expectError(await post('/v1/datasets', key).send({ name: 'x', source: { type: 'mnist', count: 10 } }), 422, 'idempotency_key_reused');
    assert.equal(await jobs(), before, 'still one job');
    assert.equal(await h.db.dataset.count(), 1, 'no dataset created');
    // And the original request still replays.
    const replay = await post('/v1/jobs', key).send(jobBody());
    assert.equal(replay.status, 202);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
  });

  it('a key whose request is in flight is a 409; one whose lease lapsed is taken over', async () => {
    const key = randomUUID();
    const before = await jobs();
    await h.db.idempotencyKey.create({
      data: { scope: h.tenant.tenantId, key, requestHash: requestHash('POST', '/v1/jobs', jobBody()), state: 'in_flight', expiresAt: new Date(Date.now() + 60_000) },
    });
    expectError(await post('/v1/jobs', key).send(jobBody()), 409, 'idempotency_key_in_flight');
    assert.equal(await jobs(), before);
    assert.equal((await row(key))?.state, 'in_flight', 'the owner keeps its key');
    // Its process died: nobody renewed the lease.
    await h.db.idempotencyKey.update({ where: { scope_key: { scope: h.tenant.tenantId, key } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await post('/v1/jobs', key).send(jobBody());
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.equal(await jobs(), before + 1);
    assert.equal((await row(key))?.state, 'done');
  });

  it('concurrent requests with one key create one job', async () => {
    const key = randomUUID();
    const before = await jobs();
    const results = await Promise.all(Array.from({ length: 6 }, () => post('/v1/jobs', key).send(jobBody())));
    const fresh = results.filter((r) => r.status === 202 && r.headers['idempotent-replayed'] === undefined);
    assert.equal(fresh.length, 1, JSON.stringify(results.map((r) => [r.status, r.headers['idempotent-replayed']])));
    for (const r of results) {
      if (r.status === 409) assert.equal(r.body.error.code, 'idempotency_key_in_flight');
      else assert.equal(r.text, fresh[0].text);
    }
    assert.equal(await jobs(), before + 1);
  });

  it('an invalid key is a 400 invalid_idempotency_key and creates nothing', async () => {
    const before = await jobs();
    for (const key of ['', 'x'.repeat(256), 'caf\u00e9', 'tab\there']) {
      expectError(await post('/v1/jobs', key).send(jobBody()), 400, 'invalid_idempotency_key');
    }
    // Checked before the body: a bad key and a bad body still say the key is wrong.
    expectError(await post('/v1/jobs', '').send({ bogus: 1 }), 400, 'invalid_idempotency_key');
    assert.equal(await jobs(), before);
    // The limits themselves are fine.
    await post('/v1/jobs', `${'y'.repeat(254)}~`).send(jobBody()).expect(202);
    await post('/v1/jobs', 'k').send(jobBody()).expect(202);
  });

  it('a body that fails the schema does not use up the key', async () => {
    const key = randomUUID();
    expectError(await post('/v1/jobs', key).send({ ...jobBody(), bogus: 1 }), 400, 'validation_failed');
    assert.equal(await row(key), null);
    const res = await post('/v1/jobs', key).send(jobBody());
    assert.equal(res.status, 202);
    assert.equal(res.headers['idempotent-replayed'], undefined);
  });

  it('a 4xx from the route is stored and replayed', async () => {
    const key = randomUUID();
    const body = { baseModelId: MISSING, trainDatasetId: datasetId };
    const first = await post('/v1/jobs', key).send(body);
    expectError(first, 422, 'model_not_found');
    const again = await post('/v1/jobs', key).send(body);
    expectError(again, 422, 'model_not_found');
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, first.text);
    assert.equal((await row(key))?.statusCode, 422);
  });

  it('a 409 from the route is not stored: the key stays free', async () => {
    const job = await submitJob(h.app, jobBody());
    await h.db.job.update({ where: { id: job.id }, data: { status: 'succeeded' } });
    const key = randomUUID();
    expectError(await post(`/v1/jobs/${job.id}/cancel`, key), 409, 'job_not_cancellable');
    assert.equal(await row(key), null);
    const again = await post(`/v1/jobs/${job.id}/cancel`, key);
    expectError(again, 409, 'job_not_cancellable');
    assert.equal(again.headers['idempotent-replayed'], undefined);
  });

  it('a POST without a body is keyed by its URL: cancelling another job with the key is a 422', async () => {
    const a = await submitJob(h.app, jobBody());
    const b = await submitJob(h.app, jobBody());
    const key = randomUUID();
    const first = await post(`/v1/jobs/${a.id}/cancel`, key);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const replay = await post(`/v1/jobs/${a.id}/cancel`, key);
    assert.equal(replay.status, 202);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.text, first.text);
    expectError(await post(`/v1/jobs/${b.id}/cancel`, key), 422, 'idempotency_key_reused');
    assert.equal((await h.db.job.findUniqueOrThrow({ where: { id: b.id } })).status, 'queued');
  });

  it('a 5xx frees the key, so a retry runs again', async () => {
    // A real Redis failure: BullMQ's add script INCRs this key, and it now holds no number.
    const redis = h.app.redis;
    const idKey = `bull:${h.config.queueName}:id`;
    const saved = await redis.get(idKey);
    await redis.set(idKey, 'not-a-number');
    const key = randomUUID();
    const before = await jobs();
    try {
      expectError(await post('/v1/jobs', key).send(jobBody()), 503, 'queue_unavailable');
      assert.equal(await row(key), null, 'the key was released');
    } finally {
      if (saved === null) await redis.del(idKey);
      else await redis.set(idKey, saved);
    }
    const retry = await post('/v1/jobs', key).send(jobBody());
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    assert.equal(await jobs(), before + 1);
  });

  it('an expired key is accepted again as new', async () => {
    const key = randomUUID();
    const first = await post('/v1/jobs', key).send(jobBody());
    assert.equal(first.status, 202);
    await h.db.idempotencyKey.update({ where: { scope_key: { scope: h.tenant.tenantId, key } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const before = await jobs();
    // Even for another request: the old one is forgotten.
    const res = await post('/v1/jobs', key).send(jobBody(2));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.notEqual(res.body.id, first.body.id);
    assert.equal(await jobs(), before + 1);
    const stored = await row(key);
    assert.ok(stored!.expiresAt.getTime() > Date.now(), 'a fresh expiry');
  });

  it('the OpenAPI document lists the header on every POST and on nothing else', async () => {
    const doc = (await http(h.app).get('/openapi.json').expect(200)).body;
    let posts = 0;
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const header = (op.parameters ?? []).find((p: any) => p.in === 'header' && p.name === 'idempotency-key');
        if (method === 'post') {
          posts++;
          assert.ok(header, `POST ${path} documents Idempotency-Key`);
          assert.notEqual(header.required, true, 'optional');
          assert.equal(header.schema.maxLength, 255);
        } else {
          assert.equal(header, undefined, `${method.toUpperCase()} ${path} has no Idempotency-Key`);
        }
      }
    }
    assert.ok(posts >= 4, `found ${posts} POST routes`);
  });
  it('keys are per tenant: another tenant\'s identical key is a different request', async () => {
    const other = await h.newTenant('other');
    const key = 'shared-key-between-tenants';
    const mine = await http(h.app).post('/v1/datasets').set('idempotency-key', key).send({ name: 'mine', source: { type: 'mnist', classes: [0, 1], count: 20 } });
    assert.equal(mine.status, 201);
    const theirs = await http(h.app, other.apiKey).post('/v1/datasets').set('idempotency-key', key).send({ name: 'theirs', source: { type: 'mnist', classes: [0, 1], count: 20 } });
    assert.equal(theirs.status, 201, 'not 422: the key is not shared');
    assert.notEqual(theirs.body.id, mine.body.id);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);
  });
});
