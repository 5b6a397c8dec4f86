// POST /v1/advice through the API and a real worker: the advice is a job of
// type advice (queued, leased, listed like one), scoped to its tenant and
// idempotent; its measurements come back on GET /v1/advice/:id, and a second
// advice on the same base and data reads the cut's activations from the
// feature cache instead of running the base again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { api, createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

async function waitForAdvice(h: Harness, id: string) {
  for (let i = 0; i < 600; i++) {
    const res = await http(h.app).get(`/v1/advice/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (['succeeded', 'failed', 'cancelled'].includes(res.body.status)) return res.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('advice did not finish');
}

describe('advice API', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(() => h?.close());

  it('measures a base on a dataset, once per cut, and scopes the result to its tenant', async () => {
    const low = await createDataset(h.app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 300 });
    const high = await createDataset(h.app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 200 });
    const pre = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(5), hyperparameters: { epochs: 1, learningRate: 0.01 }, trainDatasetId: low.id });
    const base = await waitForJob(h.app, pre.id, finished);
    assert.equal(base.status, 'succeeded', JSON.stringify(base.error));

    const body = { baseModelId: base.outputModelId, trainDatasetId: high.id, budget: { sampleSize: 100 } };
    const posted = await http(h.app).post('/v1/advice').set('idempotency-key', 'advice-1').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.headers.location, `/v1/advice/${posted.body.id}`);
    assert.deepEqual(posted.body.budget, { sampleSize: 100, maxCuts: 2 });
    const replay = await http(h.app).post('/v1/advice').set('idempotency-key', 'advice-1').send(body);
    assert.equal(replay.body.id, posted.body.id);
    assert.equal(replay.headers['idempotent-replayed'], 'true');

    const done = await waitForAdvice(h, posted.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const advice = done.advice;
    assert.equal(advice.sampleSize, 100);
    assert.equal(advice.data.examples, 200);
    assert.deepEqual(advice.cuts.map((c: { layer: string }) => c.layer), ['features']);
    assert.equal(advice.featurePasses, 1);
    assert.ok(advice.options.some((o: { id: string }) => o.id === advice.recommended));
    // Listed with the tenant's jobs, as type advice.
    const job = (await http(h.app).get(`/v1/jobs/${posted.body.id}`)).body;
    assert.equal(job.type, 'advice');

    // The typed client: create and wait.
    const again = await api(h.app).advice.create(body);
    const second = await api(h.app).advice.wait(again.id, { intervalMs: 200 });
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.advice!.featurePasses, 0, 'the second advice reads the cut from the feature cache');
    assert.equal(second.advice!.cuts[0].logme, advice.cuts[0].logme);

    const other = await h.newTenant('other');
    assert.equal((await http(h.app, other.apiKey).get(`/v1/advice/${posted.body.id}`)).status, 404);
    // A fine-tuning job is not advice.
    assert.equal((await http(h.app).get(`/v1/advice/${pre.id}`)).body.error.code, 'advice_not_found');

    // A dataset whose image registration has not finished is refused as it is for a job.
    await h.db.dataset.update({ where: { id: high.id }, data: { status: 'validating' } });
    const early = await http(h.app).post('/v1/advice').send(body);
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.equal(early.body.error.code, 'dataset_not_ready');
  });
});
