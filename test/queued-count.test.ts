// The queued-jobs counter (QueuedJobCount, kept by triggers on Job) equals the
// real count of each tenant's queued and paused jobs, stripe by stripe, after
// every kind of write that moves a job in or out of those statuses; and the
// submit's place-taking is exact: racing submits fill the quota, never pass it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness, type Tenant } from './helpers/harness.ts';
import { http, tinyMlp } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';
import { JobStore } from '../apps/shared/jobs/job-store.ts';

const QUOTA = 40;

describe('queued-jobs counter', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ env: { MAX_QUEUED_JOBS_PER_TENANT: String(QUOTA) } });
  });
  after(() => h?.close());

  /** The counter's stripes against a count of the tenant's jobs by stripe. */
  async function assertCounted(t: Tenant, step: string) {
    const counted = await h.db.queuedJobCount.findMany({ where: { tenantId: t.tenantId }, orderBy: { stripe: 'asc' } });
    const real = await h.db.job.groupBy({ by: ['quotaStripe'], where: { tenantId: t.tenantId, status: { in: ['queued', 'paused'] } }, _count: true });
    const expected = Array.from({ length: 16 }, (_, s) => real.find((r) => r.quotaStripe === s)?._count ?? 0);
    assert.deepEqual(counted.map((c) => c.n), expected, `after ${step}`);
  }

  /** A tenant with an MNIST dataset (pretrain), a CSV table and a registered model (finetune, sweeps, advice). */
  async function setUp(name: string) {
    const t = await h.newTenant(name);
    const api = () => http(h.app, t.apiKey);
    const digits = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id as string;
    const key = `${uploadPrefix(t.tenantId)}table.csv`;
    await h.storage.put(key, irisLikeCsv(30));
    const table = (await api().post('/v1/datasets').send({ name: 't', source: { type: 's3', uri: `s3://${h.storage.bucket}/${key}`, format: 'csv', labelColumn: 'species' } })).body.id as string;
    const model = (await api().post('/v1/models').send({ name: 'tiny', uri: await uploadTinyModel(h.storage, `${uploadPrefix(t.tenantId)}tiny/`, 4) })).body.id as string;
    const submit = async (body: object = { type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: digits }) => {
      const res = await api().post('/v1/jobs').send(body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.id as string;
    };
    return { t, api, digits, table, model, submit };
  }

  it('stays equal to the real count through every status write of the API and a worker', async () => {
    const { t, api, submit } = await setUp('counted');
    const store = new JobStore(h.db);
    await assertCounted(t, 'a new tenant');
    const [a, b, c, d, e] = [await submit(), await submit(), await submit(), await submit(), await submit()];
    await assertCounted(t, 'five submits');
    const post = async (path: string, status = 202) => assert.equal((await api().post(path)).status, status, path);

    await post(`/v1/jobs/${a}/pause`);
    await assertCounted(t, 'pause (queued -> paused)');
    await post(`/v1/jobs/${a}/resume`);
    await assertCounted(t, 'resume (paused -> queued)');
    await post(`/v1/jobs/${b}/cancel`);
    await assertCounted(t, 'cancel (queued -> cancelled)');
    await post(`/v1/jobs/${c}/pause`);
    await post(`/v1/jobs/${c}/cancel`);
    await assertCounted(t, 'cancel (paused -> cancelled)');

    // A worker's moves.
    assert.ok(await store.transition(h.db, a, 'queued', 'running'));
    await assertCounted(t, 'claim (queued -> running)');
    assert.ok(await store.transition(h.db, a, 'running', 'running'));
    assert.ok(await store.transition(h.db, a, 'running', 'queued'));
    await assertCounted(t, 'requeue (running -> queued)');
    assert.ok(await store.transition(h.db, a, 'queued', 'running'));
    assert.ok(await store.transition(h.db, a, 'running', 'paused'));
    await assertCounted(t, 'pause at a batch boundary (running -> paused)');
    await post(`/v1/jobs/${a}/resume`);
    assert.ok(await store.transition(h.db, a, 'queued', 'running'));
    assert.ok(await store.transition(h.db, a, 'running', 'succeeded'));
    await assertCounted(t, 'success (running -> succeeded)');
    assert.ok(await store.transition(h.db, d, 'queued', 'failed'));
    await assertCounted(t, 'failure (queued -> failed)');
    await post(`/v1/jobs/${d}/retry`);
    await assertCounted(t, 'retry (failed -> queued)');
    assert.ok(await store.transition(h.db, d, 'queued', 'running'));
    assert.ok(await store.cancel(h.db, d, 'running'));
    await assertCounted(t, 'cancel (running -> cancelled)');

    await h.db.job.delete({ where: { id: e } });
    await assertCounted(t, 'delete of a queued job');
    await h.db.job.delete({ where: { id: b } });
    await assertCounted(t, 'delete of a cancelled job');
    await h.db.job.updateMany({ where: { id: a }, data: { progress: 0.5, epoch: 1 } });
    await assertCounted(t, 'a write that leaves the status alone');
    assert.equal(await h.db.job.count({ where: { tenantId: t.tenantId, status: { in: ['queued', 'paused'] } } }), 0, 'the walk-through left nothing queued');
  });

  it('stays equal to the real count through base-model submits, sweeps and advice', async () => {
    const { t, api, table, model, submit } = await setUp('counted, other writers');
    const waiting = () => h.db.job.count({ where: { tenantId: t.tenantId, status: { in: ['queued', 'paused'] } } });
    const finetune = { baseModelId: model, trainDatasetId: table, cutLayer: 'hidden', head: [{ type: 'dense', units: 3, activation: 'softmax' }] };
    await submit(finetune);
    await assertCounted(t, 'a submit on a base model (inside a Prisma transaction)');
    const sweep = await api().post('/v1/sweeps').send({ job: finetune, space: { learningRate: [0.05, 0.01, 0.001] }, parallelism: 2, earlyStopping: false });
    assert.equal(sweep.status, 202, JSON.stringify(sweep.body));
    await assertCounted(t, 'a sweep (its trials)');
    const trials = await h.db.job.count({ where: { sweepId: sweep.body.id } });
    assert.ok(trials > 0);
    assert.equal(await waiting(), 1 + trials);
    const advice = await api().post('/v1/advice').send({ baseModelId: model, trainDatasetId: table, budget: { sampleSize: 20 } });
    assert.equal(advice.status, 202, JSON.stringify(advice.body));
    await assertCounted(t, 'an advice job');
    assert.equal(await waiting(), 2 + trials);
  });

  it('racing submits fill the quota exactly, on the plain path and in a base model\'s transaction', async () => {
    for (const onBase of [false, true]) {
      const { t, api, digits, table, model } = await setUp(`race ${onBase}`);
      const body = onBase
        ? { baseModelId: model, trainDatasetId: table, cutLayer: 'hidden', head: [{ type: 'dense', units: 3, activation: 'softmax' }] }
        : { type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: digits };
      const answers = await Promise.all(Array.from({ length: QUOTA + 12 }, () => api().post('/v1/jobs').send(body)));
      const refused = answers.filter((r) => r.status !== 202);
      assert.ok(refused.every((r) => r.status === 429 && r.body.error.code === 'too_many_queued_jobs'), JSON.stringify(refused.map((r) => [r.status, r.body.error?.code])));
      assert.equal(answers.length - refused.length, QUOTA, 'exactly the quota accepted: none past it, none refused with room left');
      assert.equal(await h.db.job.count({ where: { tenantId: t.tenantId } }), QUOTA);
      await assertCounted(t, `${QUOTA + 12} racing submits`);
    }
  });

  // Last: it empties this file's database.
  it('a TRUNCATE of Job leaves every counter at zero', async () => {
    await (await setUp('truncated')).submit();
    assert.ok((await h.db.queuedJobCount.aggregate({ _sum: { n: true } }))._sum.n! > 0);
    await h.db.$executeRawUnsafe('TRUNCATE "Job" CASCADE');
    assert.equal((await h.db.queuedJobCount.aggregate({ _sum: { n: true } }))._sum.n, 0);
  });
});
