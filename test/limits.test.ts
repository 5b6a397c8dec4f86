// Limits on how much and how often, at their boundaries: a tenant's request
// rate and its queued jobs are 429s with Retry-After, and one tenant's use
// does not count against another's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http, tinyMlp } from './helpers/api.ts';

describe('limits', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ env: { RATE_LIMIT_PER_MINUTE: '8', MAX_QUEUED_JOBS_PER_TENANT: '2' } });
  });
  after(() => h?.close());

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

  it('RATE_LIMIT_PER_MINUTE requests pass, the next is 429 with Retry-After, and other tenants are unaffected', async () => {
    // Stay inside one fixed window.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
    const [a, b] = [await h.newTenant('rate A'), await h.newTenant('rate B')];
    for (let i = 0; i < 8; i++) assert.equal((await http(h.app, a.apiKey).get('/v1/jobs')).status, 200, `request ${i + 1}`);
    const over = await http(h.app, a.apiKey).get('/v1/jobs');
    assert.equal(over.status, 429);
    assert.equal(over.body.error.code, 'rate_limited');
    const retry = Number(over.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal((await http(h.app, b.apiKey).get('/v1/jobs')).status, 200, 'another tenant has its own budget');
  });
});
