// Polling at scale (issue 19): keys are cached per instance, yet a revoked key
// is refused on every instance within AUTH_CACHE_MS (1 s); job reads carry an
// ETag, answer 304 to a poller that already has them, and can wait for a change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';
import { hashKey } from '../apps/shared/auth/api-keys.ts';
import { Redis } from 'ioredis';

describe('polling: key cache, ETag, long-poll', () => {
  let h: Harness;
  let second: App;
  let datasetId: string;
  before(async () => {
    h = await createHarness();
    // A second instance of the API on the same database and Redis.
    second = await buildApp(h.config, { logger: false });
    await second.ready();
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 })).id;
  });
  after(async () => {
    await second?.close();
    await h?.close();
  });

  const keyIdOf = async (tenantId: string) => (await http(h.app, TEST_ADMIN_KEY).get(`/v1/admin/tenants/${tenantId}/keys`)).body.data[0].id as string;

  it('a key revoked on one instance is refused there at once and on the other within AUTH_CACHE_MS', async () => {
    assert.equal(h.config.auth.keyCacheMs, 1000);
    const t = await h.newTenant('revoked via the API');
    const keyId = await keyIdOf(t.tenantId);
    // Both instances have looked the key up (and cached it).
    assert.equal((await http(second, t.apiKey).get('/v1/jobs')).status, 200);
    assert.equal((await http(h.app, t.apiKey).get('/v1/jobs')).status, 200);
    const revokedAt = Date.now();
    assert.equal((await http(h.app, TEST_ADMIN_KEY).post(`/v1/admin/keys/${keyId}/revoke`)).status, 200);
    const here = await http(h.app, t.apiKey).get('/v1/jobs');
    assert.equal(here.status, 401);
    assert.equal(here.body.error.code, 'invalid_api_key');
    // The other instance hears of it over Redis; whatever the message does, the bound holds.
    await sleep(Math.max(0, revokedAt + 1000 - Date.now()));
    for (const app of [second, h.app]) assert.equal((await http(app, t.apiKey).get('/v1/jobs')).status, 401);
  });

  it('revoking a key tells the other instances over Redis', async () => {
    const t = await h.newTenant('revoked and announced');
    const keyId = await keyIdOf(t.tenantId);
    const listener = new Redis(h.config.redisUrl);
    try {
      const heard = new Promise<string>((resolve) => listener.on('message', (_c: string, hash: string) => resolve(hash)));
      await listener.subscribe(`finetune:${h.config.queueName}:api-key-revoked`);
      assert.equal((await http(h.app, TEST_ADMIN_KEY).post(`/v1/admin/keys/${keyId}/revoke`)).status, 200);
      assert.equal(await Promise.race([heard, sleep(10_000).then(() => 'nothing within 10 s')]), hashKey(t.apiKey));
    } finally {
      listener.disconnect();
    }
  });

  it('a key revoked behind the API\'s back (no message) is refused within AUTH_CACHE_MS of the commit', async () => {
    const t = await h.newTenant('revoked in the database');
    assert.equal((await http(second, t.apiKey).get('/v1/jobs')).status, 200);
    await h.db.apiKey.updateMany({ where: { tenantId: t.tenantId }, data: { revokedAt: new Date() } });
    const committedBy = Date.now();
    await sleep(Math.max(0, committedBy + h.config.auth.keyCacheMs - Date.now()));
    const res = await http(second, t.apiKey).get('/v1/jobs');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'invalid_api_key');
  });

  it('GET /v1/jobs/:id sends an ETag; If-None-Match with it is an empty 304 until the job changes', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const first = await http(h.app).get(`/v1/jobs/${job.id}`);
    assert.equal(first.status, 200);
    const etag = first.headers.etag;
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const again = await http(second, h.tenant.apiKey).get(`/v1/jobs/${job.id}`).set('if-none-match', etag);
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal(again.headers.etag, etag);
    assert.equal((await http(h.app).get(`/v1/jobs/${job.id}`).set('if-none-match', '"something-else"')).status, 200);
    await http(h.app).post(`/v1/jobs/${job.id}/cancel`).expect(202);
    const changed = await http(h.app).get(`/v1/jobs/${job.id}`).set('if-none-match', etag);
    assert.equal(changed.status, 200);
    assert.equal(changed.body.status, 'cancelled');
    assert.notEqual(changed.headers.etag, etag);
  });

  it('waitForChangeMs holds the answer until the job changes, or answers 304 when the time is up', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const etag = (await http(h.app).get(`/v1/jobs/${job.id}`)).headers.etag;
    const unchanged = await http(h.app).get(`/v1/jobs/${job.id}?waitForChangeMs=300`).set('if-none-match', etag);
    assert.equal(unchanged.status, 304);
    const waiting = http(second, h.tenant.apiKey).get(`/v1/jobs/${job.id}?waitForChangeMs=20000`).set('if-none-match', etag).then((r) => r);
    await sleep(300);
    await http(h.app).post(`/v1/jobs/${job.id}/pause`).expect(202);
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'paused');
    assert.notEqual(res.headers.etag, etag);
    const tooLong = await http(h.app).get(`/v1/jobs/${job.id}?waitForChangeMs=${h.config.longPollMaxMs + 1}`);
    assert.equal(tooLong.status, 400);
  });
});
