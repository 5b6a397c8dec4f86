// What a sweep's trials meet outside the sweep, through the API with no
// worker (trials stay queued; a trial's end is written as a worker would):
// the tenant's queued-jobs limit, POST /v1/jobs/:id/retry of a trial, and
// the stored reason of a failed sweep (docs/sweeps.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http, submitJob, tinyMlp } from './helpers/api.ts';
import { advance, sweepDatasets, type Sweep } from './helpers/sweeps.ts';

describe('sweeps against the tenant\'s limits, retries and failures', () => {
  let h: Harness;
  let high: string;
  before(async () => {
    h = await createHarness({ env: { MAX_QUEUED_JOBS_PER_TENANT: '3', RECONCILE_INTERVAL_MS: '600000' } });
    high = (await sweepDatasets(h)).high;
  });
  after(() => h?.close());

  const job = () => ({ type: 'pretrain', architecture: tinyMlp(5), trainDatasetId: high, hyperparameters: { epochs: 1, validationSplit: 0.2 } });
  const sweepOf = async (trials: number, parallelism: number): Promise<Sweep> => {
    const body = { job: job(), space: { learningRate: [0.01, 0.02, 0.03, 0.04].slice(0, trials) }, parallelism, earlyStopping: false };
    const res = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body;
  };
  const get = async (id: string): Promise<Sweep> => (await http(h.app).get(`/v1/sweeps/${id}`)).body;
  /** A trial's job ends as a worker would end it. */
  const end = (jobId: string, status: 'failed' | 'succeeded' | 'cancelled', errorCode = 'training_diverged') =>
    h.db.job.update({ where: { id: jobId }, data: { status, finishedAt: new Date(), ...(status === 'failed' ? { errorCode, errorMessage: 'The loss became NaN' } : {}) } });
  const queued = () => h.db.job.count({ where: { tenantId: h.tenant.tenantId, status: { in: ['queued', 'paused'] } } });
  const clear = () => h.db.job.updateMany({ where: { tenantId: h.tenant.tenantId, status: { in: ['queued', 'paused', 'running'] } }, data: { status: 'cancelled', finishedAt: new Date() } });

  it('a trial that would pass MAX_QUEUED_JOBS_PER_TENANT waits pending, and starts once there is room', async () => {
    const s = await sweepOf(4, 2);
    assert.equal(s.trials.queued, 2);
    await end(s.leaderboard[0].jobId, 'succeeded');
    const plain = await Promise.all([1, 2].map(() => submitJob(h.app, job())));
    assert.equal(await queued(), 3, 'the tenant is at its limit');
    assert.deepEqual(await advance(h, s.id), [], 'a free slot of the sweep, but no room under the limit');
    assert.equal(await queued(), 3, 'the limit held');
    const waiting = await get(s.id);
    assert.equal(waiting.status, 'running', 'the sweep waits rather than failing');
    assert.equal(waiting.trials.pending, 2);
    await end(plain[0].id, 'cancelled');
    assert.equal((await advance(h, s.id)).length, 1, 'room for one: one trial starts');
    assert.equal(await queued(), 3);
    assert.equal((await get(s.id)).trials.pending, 1);
    await clear();
  });

  it('a trial is retried through its sweep: within its parallelism, never once it has ended; a failed sweep says why', async () => {
    const s = await sweepOf(2, 1);
    const first = s.leaderboard[0].jobId;
    await end(first, 'failed');
    const [second] = await advance(h, s.id);
    assert.ok(second, 'the failed trial\'s slot went to the next');
    const full = await http(h.app).post(`/v1/jobs/${first}/retry`);
    assert.equal(full.status, 409, JSON.stringify(full.body));
    assert.equal(full.body.error.code, 'sweep_trial_not_retryable');
    assert.equal(full.body.error.details.reason, 'parallelism');
    assert.equal((await h.db.job.findUniqueOrThrow({ where: { id: first } })).status, 'failed', 'refused: nothing moved');

    await end(second, 'failed', 'worker_crashed');
    const retried = await http(h.app).post(`/v1/jobs/${second}/retry`);
    assert.equal(retried.status, 202, 'a free slot: the retry goes through');
    await end(second, 'failed', 'worker_crashed');
    await advance(h, s.id);
    const failed = await get(s.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'no_trial_succeeded');
    assert.match(failed.error.message, /2 failed/);
    assert.match(failed.error.message, /trial 0 failed first with training_diverged: The loss became NaN/);
    const late = await http(h.app).post(`/v1/jobs/${first}/retry`);
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.equal(late.body.error.details.reason, 'sweep_finished');
    assert.equal((await h.db.job.findUniqueOrThrow({ where: { id: first } })).status, 'failed', 'a finished sweep\'s trial stays as it ended');
    await clear();
  });

  it('a sweep whose trial can never start fails with sweep_trial_unstartable', async () => {
    const s = await sweepOf(1, 1);
    await end(s.leaderboard[0].jobId, 'cancelled');
    await h.db.sweepTrial.create({ data: { sweepId: s.id, index: 1, params: {}, spec: { not: 'a job spec' } } });
    await assert.rejects(advance(h, s.id), /Trial 1 cannot start/);
    const failed = await get(s.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'sweep_trial_unstartable');
    assert.match(failed.error.message, /Trial 1 cannot start/);
    assert.equal((await get((await sweepOf(1, 1)).id)).error, null, 'a running sweep has no error');
    await clear();
  });
});
