// Sweep trials through the API and a real worker (two training processes):
// a frozen cut's other trials start as soon as its first trial has recorded
// the features, not when that trial ends; a trial's compute counts what it
// trained even when its lease is lost (docs/sweeps.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { frozenBase, sweepDatasets, waitForSweep } from './helpers/sweeps.ts';

describe('sweep trials on a real worker', () => {
  let h: Harness;
  let baseModelId: string;
  let high: string;
  before(async () => {
    // The reconciler is slow here, so only the sweep's own calls can start a trial.
    h = await createHarness({ worker: true, env: { WORKER_CONCURRENCY: '2', RECONCILE_INTERVAL_MS: '600000' } });
    const data = await sweepDatasets(h);
    high = data.high;
    baseModelId = await frozenBase(h, data.low);
  });
  after(() => h?.close());

  const job = (epochs: number) => ({ type: 'finetune', baseModelId, trainDatasetId: high, freeze: 'all', hyperparameters: { epochs, validationSplit: 0.2, batchSize: 32 } });

  it('a frozen cut\'s other trials start once the first has its features, while it still trains', async () => {
    const body = { job: job(1000), space: { learningRate: [0.01, 0.02] }, parallelism: 2, earlyStopping: false };
    const posted = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.body.trials.queued, 1, 'the group\'s second waits for the features');
    const both = await waitForSweep(h, posted.body.id, (s) => s.leaderboard.every((t: Record<string, unknown>) => t.jobId) || s.status !== 'running', 120_000);
    await http(h.app).post(`/v1/sweeps/${posted.body.id}/cancel`);
    const done = await waitForSweep(h, posted.body.id, undefined, 120_000);
    const [first, second] = await Promise.all([0, 1].map((index) => h.db.sweepTrial.findUniqueOrThrow({ where: { sweepId_index: { sweepId: done.id, index } }, include: { job: true } })));
    assert.ok(second.job, `the second trial started: ${JSON.stringify(both.leaderboard)}`);
    assert.equal(first.features, 'computed');
    assert.ok(second.job.createdAt < first.job!.finishedAt!, 'the second started before the first ended');
    assert.ok(first.job!.epoch < 1000, `the first was still training when the second started (it ran ${first.job!.epoch} epochs)`);
  });

  it('a trial that lost its lease mid-training counts the epochs and batches it trained', async () => {
    const body = { job: { ...job(1000), hyperparameters: { epochs: 1000, validationSplit: 0.2, batchSize: 8 } }, space: { learningRate: [0.01] }, parallelism: 1, earlyStopping: false };
    const posted = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const running = await waitForSweep(h, posted.body.id, (s) => s.leaderboard[0].epochsRun >= 3, 120_000);
    const { jobId } = running.leaderboard[0];
    // Another worker's reaper ends it under this one (as after a partition): its writes are refused from now on.
    await h.db.job.update({ where: { id: jobId }, data: { status: 'failed', errorCode: 'worker_crashed', finishedAt: new Date(), leaseToken: { increment: 1 } } });
    // It stops at its next batch: the count settles.
    const read = async () => JSON.stringify((await h.db.sweepTrial.findUniqueOrThrow({ where: { jobId } })).compute);
    let last = await read();
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await read();
      if (now === last) break;
      last = now;
    }
    const compute = JSON.parse(last) as { examples: number; epochsRun: number; exampleLayers: number } | null;
    assert.ok(compute && compute.epochsRun >= 3 && compute.epochsRun < 1000, `the epochs it trained count: ${JSON.stringify(compute)}`);
    // 240 training examples, 8 a batch; 1 layer with weights (the default head: its output dense).
    const partial = compute.exampleLayers - compute.epochsRun * 240;
    assert.ok(partial >= 0 && partial < 240 && partial % 8 === 0, `whole epochs plus whole batches: ${JSON.stringify(compute)}`);
    await http(h.app).post(`/v1/sweeps/${posted.body.id}/cancel`);
  });
});
