// Postgres is the source of truth: when Redis loses everything (FLUSHDB on
// this file's own Redis database stands in for FLUSHALL or a restart without
// persistence), the reconciler re-enqueues queued jobs, running ones keep
// their lease, and every job still finishes, each epoch recorded once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/7';

describe('Redis loses its data', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({
      worker: true,
      env: { REDIS_URL, RECONCILE_INTERVAL_MS: '1000', WORKER_LOCK_DURATION_MS: '5000', JOB_LEASE_MS: '3000' },
    });
  });
  after(() => h?.close());

  it('FLUSHDB while jobs are queued and running: every job still finishes', async () => {
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 900 });
    const jobs = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 3, batchSize: 8, seed: i }, trainDatasetId: dataset.id }));
    }
    await waitForJob(h.app, jobs[0].id, (j) => j.status === 'running' && j.progress.epoch >= 1, 60_000);
    const redis = new Redis(REDIS_URL);
    try {
      await redis.flushdb();
      assert.equal(await redis.dbsize(), 0);
    } finally {
      redis.disconnect();
    }
    for (const job of jobs) {
      const done = await waitForJob(h.app, job.id, finished, 120_000);
      assert.equal(done.status, 'succeeded', `${job.id}: ${JSON.stringify(done.error)}`);
      const epochs = (await http(h.app).get(`/v1/jobs/${job.id}/metrics`)).body.data.map((m: { epoch: number }) => m.epoch);
      assert.deepEqual(epochs, [1, 2, 3]);
      const runs = (await http(h.app).get(`/v1/jobs/${job.id}/events?limit=500`)).body.data.filter((e: { type: string; data: { status?: string } }) => e.type === 'status' && e.data.status === 'running');
      assert.equal(runs.length, done.attempts, 'one running event per attempt');
    }
  });
});
