// Sweeps through the API and a real worker (three training processes), on a
// tiny MLP pretrained on 300 digits 0-4 and swept on 300 digits 5-9: a grid
// runs every trial and keeps the best; never more than `parallelism` trials
// are live; trials on the frozen base compute its features once; ASHA stops
// a hopeless trial at its first rung; a cancel cancels the trials; bad
// requests are 4xx with stable codes. ASHA's rule and the planner are also
// checked on their own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { createRedis, type JobPayload } from '../apps/shared/queue/contract.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { waitForSweep, type Sweep } from './helpers/sweeps.ts';
import { quantile, rungs, stopsAtRung } from '../apps/shared/sweeps/asha.ts';
import { planTrials } from '../apps/shared/sweeps/plan.ts';
import { advanceRunningSweeps, nextTrials, type TrialRow } from '../apps/shared/sweeps/advance.ts';

/** The most trial jobs of the sweep that were live (created, not yet finished) at any one moment. */
async function mostLive(h: Harness, sweepId: string): Promise<number> {
  const jobs = await h.db.job.findMany({ where: { sweepId }, select: { createdAt: true, finishedAt: true } });
  const points = jobs.flatMap((j) => [[j.createdAt.getTime(), 1], [(j.finishedAt ?? new Date(8.64e15)).getTime(), -1]] as const);
  // At the same instant an end comes before a start: a slot freed and refilled is not two live.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let most = 0;
  for (const [, d] of points) most = Math.max(most, (live += d));
  return most;
}

describe('ASHA and the planner', () => {
  it('stops a trial below the top 1/factor of its rung, and plans grids and seeded draws', () => {
    assert.deepEqual(rungs({ minEpochs: 1, reductionFactor: 3 }, 10), [1, 3, 9]);
    assert.deepEqual(rungs({ minEpochs: 2, reductionFactor: 2 }, 4), [2]);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(stopsAtRung([0.9], 0.9, 'max', 3), false, 'the first at a rung goes on');
    assert.equal(stopsAtRung([0.9, 0.2], 0.2, 'max', 2), true);
    assert.equal(stopsAtRung([0.9, 0.2], 0.9, 'max', 2), false);
    assert.equal(stopsAtRung([0.3, 2.5], 2.5, 'min', 2), true, 'a loss: lower is better');
    const grid = planTrials({ method: 'grid', seed: 0, space: { learningRate: [0.1, 0.01], optimizer: ['adam', 'sgd'] } }, 4);
    assert.deepEqual(grid, [
      { learningRate: 0.1, optimizer: 'adam' }, { learningRate: 0.1, optimizer: 'sgd' },
      { learningRate: 0.01, optimizer: 'adam' }, { learningRate: 0.01, optimizer: 'sgd' },
    ]);
    const space = { learningRate: { min: 1e-4, max: 1e-1, scale: 'log' as const }, batchSize: { min: 8, max: 64 } };
    const a = planTrials({ method: 'random', seed: 7, space }, 5);
    assert.deepEqual(planTrials({ method: 'random', seed: 7, space }, 5), a, 'the same seed draws the same trials');
    assert.notDeepEqual(planTrials({ method: 'random', seed: 8, space }, 5), a);
    for (const p of a) {
      assert.ok((p.learningRate as number) >= 1e-4 && (p.learningRate as number) <= 1e-1);
      assert.ok(Number.isInteger(p.batchSize) && (p.batchSize as number) >= 8 && (p.batchSize as number) <= 64);
    }
  });
});

describe('which trials start next', () => {
  const trial = (index: number, featureGroup: string | null, status?: string, features: string | null = null) =>
    ({ index, featureGroup, features, jobId: status ? `job-${index}` : null, job: status ? { status } : null }) as unknown as TrialRow;
  const next = (trials: TrialRow[], parallelism: number) => nextTrials(trials, parallelism).map((t) => t.index);

  it('holds a frozen cut\'s other trials until one of them has its features, and fills free slots meanwhile', () => {
    // Nothing started: the first of the group, and the trial outside any group; not the group's second.
    assert.deepEqual(next([trial(0, 'features'), trial(1, 'features'), trial(2, null), trial(3, 'flatten')], 4), [0, 2, 3]);
    // The first is running without features yet: its group waits.
    assert.deepEqual(next([trial(0, 'features', 'running'), trial(1, 'features'), trial(2, 'features')], 3), []);
    // It has them: the rest start, up to the parallelism.
    assert.deepEqual(next([trial(0, 'features', 'running', 'computed'), trial(1, 'features'), trial(2, 'features'), trial(3, 'features')], 3), [1, 2]);
    // It failed before computing them: the next of the group tries.
    assert.deepEqual(next([trial(0, 'features', 'failed'), trial(1, 'features'), trial(2, 'features')], 3), [1]);
    // Never more live than the parallelism.
    assert.deepEqual(next([trial(0, null, 'running'), trial(1, null, 'queued'), trial(2, null), trial(3, null)], 3), [2]);
    assert.deepEqual(next([trial(0, null, 'succeeded'), trial(1, null, 'queued'), trial(2, null), trial(3, null)], 2), [2]);
  });
});

describe('sweeps API', () => {
  let h: Harness;
  let baseModelId: string;
  let high: string;
  before(async () => {
    h = await createHarness({ worker: true, env: { WORKER_CONCURRENCY: '3', MAX_SWEEP_TRIALS: '8', MAX_SWEEP_PARALLELISM: '4' } });
    const low = await createDataset(h.app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 300 });
    high = (await createDataset(h.app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 300 })).id;
    const pre = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(5), hyperparameters: { epochs: 2, learningRate: 0.01 }, trainDatasetId: low.id });
    // Two more at once, so all three training processes are warm: trials started together then really run together.
    const warm = await Promise.all([1, 2].map(() => submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(5), hyperparameters: { epochs: 1 }, trainDatasetId: low.id })));
    const base = await waitForJob(h.app, pre.id, finished);
    for (const w of warm) await waitForJob(h.app, w.id, finished);
    assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
    baseModelId = base.outputModelId;
  });
  after(() => h?.close());

  const job = (epochs: number) => ({ type: 'finetune', baseModelId, trainDatasetId: high, freeze: 'all', hyperparameters: { epochs, validationSplit: 0.2, batchSize: 32 } });

  it('a grid runs every trial, at most `parallelism` at once, computes the frozen base\'s features once, and keeps the best', async () => {
    const body = { name: 'head grid', job: job(2), space: { learningRate: [0.05, 0.01, 1e-6], headUnits: [16, 32] }, parallelism: 2, earlyStopping: false };
    const posted = await http(h.app).post('/v1/sweeps').set('idempotency-key', 'sweep-1').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.headers.location, `/v1/sweeps/${posted.body.id}`);
    assert.equal(posted.body.maxTrials, 6);
    assert.deepEqual(posted.body.objective, { metric: 'valAccuracy', direction: 'max' });
    const replay = await http(h.app).post('/v1/sweeps').set('idempotency-key', 'sweep-1').send(body);
    assert.equal(replay.body.id, posted.body.id);
    assert.equal(replay.headers['idempotent-replayed'], 'true');

    const done = await waitForSweep(h, posted.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.trials.succeeded, 6, JSON.stringify(done.trials));
    assert.ok(await mostLive(h, done.id) <= 2, 'never more than parallelism trials live');
    assert.deepEqual(done.featurePasses, { computed: 1, reused: 5 }, 'six trials on one frozen cut: one feature pass');

    const objectives = done.leaderboard.map((t: Sweep) => t.objective);
    assert.deepEqual(objectives, [...objectives].sort((a, b) => b - a), 'ranked best first');
    assert.equal(done.bestTrial.jobId, done.leaderboard[0].jobId);
    assert.equal(done.bestTrial.objective, Math.max(...objectives));
    assert.notEqual(done.bestTrial.params.learningRate, 1e-6);
    const best = (await http(h.app).get(`/v1/jobs/${done.bestTrial.jobId}`)).body;
    assert.equal(done.outputModelId, best.outputModelId);
    assert.equal(best.sweepId, done.id);
    assert.equal(best.bestCheckpoint.value, done.bestTrial.objective);
    for (const t of done.leaderboard) {
      // 240 training examples (a 0.2 validation split of 300) × 2 layers with weights (the hidden dense and the output) × 2 epochs.
      assert.deepEqual(t.compute, { examples: 240, epochsRun: 2, exampleLayers: 240 * 2 * 2 });
      assert.equal(t.stoppedEarly, false);
    }
    assert.equal(done.computeUsed, 6 * 960);

    const listed = (await http(h.app).get(`/v1/jobs?sweepId=${done.id}&limit=100`)).body.data;
    assert.deepEqual(listed.map((j: Sweep) => j.id).sort(), done.leaderboard.map((t: Sweep) => t.jobId).sort());
    assert.ok((await http(h.app).get('/v1/sweeps')).body.data.some((s: Sweep) => s.id === done.id));
    const other = await h.newTenant('other');
    assert.equal((await http(h.app, other.apiKey).get(`/v1/sweeps/${done.id}`)).status, 404);
    assert.deepEqual((await http(h.app, other.apiKey).get(`/v1/jobs?sweepId=${done.id}`)).body.data, []);
    assert.deepEqual((await http(h.app, other.apiKey).get('/v1/sweeps')).body.data, []);
    const again = await http(h.app).post(`/v1/sweeps/${done.id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'sweep_not_cancellable');
  });

  it('ASHA stops a trial with a hopeless learning rate at its first rung, and records what it ran', async () => {
    const body = { job: job(3), space: { learningRate: [0.05, 1e-7] }, parallelism: 1, earlyStopping: { minEpochs: 1, reductionFactor: 2 } };
    const posted = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const done = await waitForSweep(h, posted.body.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const [good, bad] = [0, 1].map((i) => done.leaderboard.find((t: Sweep) => t.index === i));
    assert.equal(good.stoppedEarly, false);
    assert.equal(good.epochsRun, 3);
    assert.equal(bad.stoppedEarly, true, JSON.stringify(done.leaderboard));
    assert.equal(bad.prunedAtEpoch, 1);
    assert.equal(bad.status, 'succeeded', 'a stopped trial ends like an early-stopped job, flagged');
    assert.equal(bad.epochsRun, 1);
    assert.deepEqual(bad.compute, { examples: 240, epochsRun: 1, exampleLayers: 240 * 1 });
    assert.equal(done.trials.stoppedEarly, 1);
    assert.equal(done.bestTrial.index, 0);
  });

  it('a cancel cancels the live trials and starts no more', async () => {
    const body = { job: job(400), space: { learningRate: [0.01, 0.02, 0.03, 0.04] }, parallelism: 2, earlyStopping: false };
    const posted = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    await waitForSweep(h, posted.body.id, (s) => s.trials.running > 0, 120_000);
    const cancelled = await http(h.app).post(`/v1/sweeps/${posted.body.id}/cancel`);
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    assert.ok(cancelled.body.cancelRequestedAt);
    const done = await waitForSweep(h, posted.body.id, undefined, 120_000);
    assert.equal(done.status, 'cancelled');
    const started = done.leaderboard.filter((t: Sweep) => t.jobId);
    assert.ok(started.length >= 1 && started.length <= 2, JSON.stringify(done.leaderboard));
    for (const t of started) assert.equal(t.status, 'cancelled');
    assert.equal(done.trials.pending, 4 - started.length, 'no trial started after the cancel');
    assert.equal(done.outputModelId, null);
  });

  it('refuses what it cannot run with a 4xx and a stable code', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ job: job(1), method: 'grid', space: { learningRate: { min: 0.001, max: 0.1 } } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), method: 'random', space: { learningRate: { min: 0.1, max: 0.001 } } }, 422, 'invalid_sweep_space'],
      [{ job: { ...job(1), type: 'pretrain', architecture: tinyMlp(5), baseModelId: undefined, freeze: undefined }, space: { headUnits: [8] } }, 422, 'invalid_sweep_space'],
      [{ job: { ...job(1), strategy: 'auto' }, space: { batchSize: [8, 16] } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), space: { learningRate: [0.1, 0.2, 0.3], headUnits: [8, 16, 32] } }, 422, 'sweep_too_large'],
      [{ job: job(1), method: 'random', maxTrials: 9, space: { learningRate: [0.1] } }, 422, 'sweep_too_large'],
      [{ job: job(1), space: { learningRate: [0.1, 0.2] }, maxTrials: 1 }, 422, 'sweep_too_large'],
      [{ job: job(1), space: { learningRate: [0.1] }, parallelism: 5 }, 422, 'sweep_too_large'],
      [{ job: job(1), space: { cutLayer: ['features', 'nope'] } }, 422, 'cut_layer_not_found'],
      [{ job: { ...job(1), hyperparameters: { validationSplit: 0 } }, space: { learningRate: [0.1] } }, 422, 'invalid_sweep_objective'],
      [{ job: job(1), space: { learningRate: [0.1] }, objective: { metric: 'valLoss', direction: 'max' } }, 422, 'invalid_sweep_objective'],
      // A range's ends must be values of its field: a draw lands anywhere between them.
      [{ job: job(1), method: 'random', maxTrials: 4, space: { learningRate: { min: -0.05, max: 0.1 } } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), method: 'random', maxTrials: 4, space: { batchSize: { min: 0, max: 0 } } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), method: 'random', maxTrials: 4, space: { dropout: { min: 0, max: 1.2 } } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), method: 'random', maxTrials: 4, space: { epochs: { min: 1, max: 1e6 } } }, 422, 'invalid_sweep_space'],
      [{ job: job(1), space: {} }, 400, 'validation_failed'],
      [{ job: job(1), space: { momentum: [0.9] } }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await http(h.app).post('/v1/sweeps').send(body);
      assert.equal(res.status, status, `${JSON.stringify(body.space)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, JSON.stringify(body));
    }
    assert.equal((await http(h.app).get(`/v1/sweeps/${baseModelId}`)).body.error.code, 'sweep_not_found');
    assert.equal((await http(h.app).post(`/v1/sweeps/${baseModelId}/cancel`)).status, 404);
    assert.equal(await h.db.sweep.count({ where: { status: 'running' } }), 0, 'a refused sweep leaves nothing behind');
  });

  it('the reconciler goes on past a sweep whose trial can never start, which ends failed', async () => {
    const { tenantId } = h.tenant;
    const spec = { job: job(1), method: 'grid', space: { learningRate: [0.1] }, objective: { metric: 'valAccuracy', direction: 'max' }, maxTrials: 1, parallelism: 1, seed: 0, earlyStopping: false };
    const [bad, newer] = [crypto.randomUUID(), crypto.randomUUID()];
    await h.db.sweep.create({ data: { id: bad, tenantId, spec, createdAt: new Date(Date.now() - 60_000) } });
    await h.db.sweepTrial.create({ data: { sweepId: bad, index: 0, params: {}, spec: { not: 'a job spec' } } });
    await h.db.sweep.create({ data: { id: newer, tenantId, spec } }); // no trials: advancing it ends it
    const errors: string[] = [];
    const redis = createRedis(h.config);
    const queue = new Queue<JobPayload>(h.config.queueName, { connection: redis });
    try {
      await advanceRunningSweeps(h.db, queue, h.config, (id) => errors.push(id));
    } finally {
      await queue.close();
      await redis.quit();
    }
    assert.deepEqual(errors, [bad]);
    assert.equal((await h.db.sweep.findUniqueOrThrow({ where: { id: bad } })).status, 'failed', 'an unstartable trial ends its sweep');
    assert.notEqual((await h.db.sweep.findUniqueOrThrow({ where: { id: newer } })).status, 'running', 'the newer sweep was still advanced');
  });

  it('refuses to delete the base model of a running sweep', async () => {
    const { tenantId } = h.tenant;
    const id = crypto.randomUUID();
    const spec = { job: job(1), method: 'grid', space: { learningRate: [0.1] }, objective: { metric: 'valAccuracy', direction: 'max' }, maxTrials: 1, parallelism: 1, seed: 0, earlyStopping: false };
    await h.db.sweep.create({ data: { id, tenantId, spec } });
    const res = await http(h.app).delete(`/v1/models/${baseModelId}`);
    await h.db.sweep.update({ where: { id }, data: { status: 'failed' } });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'model_in_use');
    assert.ok(await h.db.model.findUnique({ where: { id: baseModelId } }), 'the model is still there');
  });
});
