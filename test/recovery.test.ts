// Nothing lost: real worker processes are killed with SIGKILL and SIGTERM in
// the middle of training, jobs are paused and resumed, and a worker whose lease
// passed to another has its writes rejected. Jobs resume from checkpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../apps/api/src/app.ts';
import { JobRecords, LeaseLostError } from '../apps/worker/src/job-records.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, useKey, waitForJob, type JobBody } from './helpers/api.ts';
import { killHard, spawnWorker, type WorkerProcess } from './helpers/processes.ts';

const ENV = {
  WORKER_LOCK_DURATION_MS: '5000',
  JOB_LEASE_MS: '3000',
  RECONCILE_INTERVAL_MS: '1000',
  JOB_ATTEMPTS: '5',
  SHUTDOWN_TIMEOUT_MS: '20000',
};

type Event = { id: string; type: string; data: Record<string, any> };

async function events(h: Harness, jobId: string): Promise<Event[]> {
  const res = await http(h.app).get(`/v1/jobs/${jobId}/events?limit=500`);
  assert.equal(res.status, 200);
  return res.body.data;
}

async function epochsRecorded(h: Harness, jobId: string): Promise<number[]> {
  return (await http(h.app).get(`/v1/jobs/${jobId}/metrics`)).body.data.map((m: { epoch: number }) => m.epoch);
}

describe('recovery: crash-resume, shutdown, pause, fencing', () => {
  let h: Harness;
  let datasetId: string;
  const workers: WorkerProcess[] = [];
  const body = (epochs: number, seed = 3) => ({
    type: 'pretrain',
    architecture: tinyMlp(5),
    hyperparameters: { epochs, batchSize: 8, learningRate: 0.01, seed, validationSplit: 0.1 },
    trainDatasetId: datasetId,
  });
  // The recipe's kind of training: dropout, whose masks must repeat on resume, and Adadelta, whose
  // accumulators must come back from the checkpoint.
  const dropoutBody = (epochs: number) => ({
    type: 'pretrain',
    architecture: [{ type: 'flatten' }, { type: 'dense', units: 32, activation: 'relu' }, { type: 'dropout', rate: 0.3 }, { type: 'dense', units: 5, activation: 'softmax' }],
    hyperparameters: { epochs, batchSize: 8, optimizer: 'adadelta', learningRate: 1, seed: 3, validationSplit: 0.1 },
    trainDatasetId: datasetId,
  });
  const start = async () => {
    const w = await spawnWorker(h.config);
    workers.push(w);
    return w;
  };

  before(async () => {
    h = await createHarness({ env: ENV });
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2, 3, 4], count: 3000 })).id;
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await killHard(w);
    await h?.close();
  });

  it('kill -9 mid-epoch: the job resumes from its last checkpoint on another worker and ends with the weights of an uninterrupted run, bit for bit', async () => {
    const w1 = await start();
    const job = await submitJob(h.app, dropoutBody(5));
    await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 2, 90_000);
    await killHard(w1);
    const w2 = await start();
    const done = await waitForJob(h.app, job.id, finished, 120_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.attempts, 2);
    assert.deepEqual(await epochsRecorded(h, job.id), [1, 2, 3, 4, 5], 'every epoch once');
    const log = await events(h, job.id);
    assert.ok(log.some((e) => e.type === 'interrupted' && e.data.reason === 'worker_lost'), 'the interruption is an event');
    const resumed = log.find((e) => e.type === 'attempt');
    assert.ok(resumed && resumed.data.resumeFrom.epoch >= 2, `resumed from a checkpoint, not from scratch: ${JSON.stringify(resumed)}`);

    // The same job, never interrupted, on a worker with the same TRAIN_THREADS: the same numbers exactly
    // (seeded order, per-example dropout masks, Adadelta's accumulators restored from optimizer.bin).
    const clean = await submitJob(h.app, dropoutBody(5));
    const cleanDone = await waitForJob(h.app, clean.id, finished, 120_000);
    assert.equal(cleanDone.status, 'succeeded');
    assert.equal(cleanDone.attempts, 1);
    const metrics = async (id: string) => (await http(h.app).get(`/v1/jobs/${id}/metrics`)).body.data.map((m: Record<string, number>) => [m.loss, m.accuracy, m.valLoss, m.valAccuracy]);
    assert.deepEqual(await metrics(job.id), await metrics(clean.id), 'every epoch\'s metrics');
    const weights = (j: JobBody) => h.storage.getBytes(`models/${j.outputModelId}/weights.bin`);
    const [a, b] = [Buffer.from(await weights(done)), Buffer.from(await weights(cleanDone))];
    assert.ok(a.length > 0 && a.equals(b), 'the final weights, byte for byte');
    w2.child.kill('SIGTERM');
    assert.equal(await w2.exited, 0);
  });

  it('SIGTERM mid-epoch: the worker finishes its batch, checkpoints, hands the job back and exits in time', async () => {
    const w1 = await start();
    const job = await submitJob(h.app, body(6));
    await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 1, 90_000);
    const t0 = Date.now();
    w1.child.kill('SIGTERM');
    assert.equal(await w1.exited, 0);
    assert.ok(Date.now() - t0 < 20_000, 'exits within SHUTDOWN_TIMEOUT_MS');
    const handed = (await http(h.app).get(`/v1/jobs/${job.id}`)).body as JobBody;
    assert.equal(handed.status, 'queued', 'handed back, not failed');
    assert.equal(handed.error, null);
    const log = await events(h, job.id);
    const interrupted = log.find((e) => e.type === 'interrupted' && e.data.reason === 'shutdown');
    assert.ok(interrupted, JSON.stringify(log.map((e) => e.type)));

    const w2 = await start();
    const done = await waitForJob(h.app, job.id, finished, 120_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.attempts, 2);
    assert.deepEqual(await epochsRecorded(h, job.id), [1, 2, 3, 4, 5, 6]);
    const resumed = (await events(h, job.id)).find((e) => e.type === 'attempt');
    assert.deepEqual(resumed?.data.resumeFrom, { epoch: interrupted.data.epoch, batch: interrupted.data.batch }, 'continued from the batch it stopped at');
    w2.child.kill('SIGTERM');
    await w2.exited;
  });

  it('pause checkpoints a running job and frees its worker; resume, from another API instance, continues it', async () => {
    const w = await start();
    const other = await buildApp(h.config, { logger: false });
    await other.ready();
    useKey(other, h.tenant.apiKey);
    try {
      const job = await submitJob(h.app, body(6));
      await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 1, 90_000);
      const res = await http(other).post(`/v1/jobs/${job.id}/pause`);
      assert.equal(res.status, 202);
      const paused = await waitForJob(h.app, job.id, (j) => j.status === 'paused', 30_000);
      const epochAtPause = paused.progress.epoch;
      // The worker is free: another job runs to the end while this one waits.
      const next = await submitJob(h.app, body(1));
      assert.equal((await waitForJob(h.app, next.id, finished, 60_000)).status, 'succeeded');
      assert.equal((await http(h.app).get(`/v1/jobs/${job.id}`)).body.status, 'paused');
      assert.equal((await http(h.app).post(`/v1/jobs/${next.id}/resume`)).body.error.code, 'job_not_paused');

      assert.equal((await http(other).post(`/v1/jobs/${job.id}/resume`)).status, 202);
      const done = await waitForJob(h.app, job.id, finished, 120_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.deepEqual(await epochsRecorded(h, job.id), [1, 2, 3, 4, 5, 6]);
      const resumed = (await events(h, job.id)).find((e) => e.type === 'attempt');
      assert.ok(resumed && resumed.data.resumeFrom.epoch >= epochAtPause, JSON.stringify(resumed));

      // A queued job pauses at once and never starts until resumed.
      w.child.kill('SIGTERM');
      await w.exited;
      const queued = await submitJob(h.app, body(1));
      assert.equal((await http(h.app).post(`/v1/jobs/${queued.id}/pause`)).body.status, 'paused');
      assert.equal((await http(h.app).post(`/v1/jobs/${queued.id}/resume`)).body.status, 'queued');
      assert.equal((await http(other).post(`/v1/jobs/${queued.id}/cancel`)).body.status, 'cancelled');
    } finally {
      await other.close();
    }
  });

  it('a zombie worker\'s writes are rejected once its lease has passed to another', async () => {
    const job = await submitJob(h.app, body(1));
    await h.db.job.update({ where: { id: job.id }, data: { status: 'paused' } }); // keep workers away
    await h.db.job.update({ where: { id: job.id }, data: { status: 'queued' } });
    const zombie = new JobRecords(h.db, job.id, 60_000);
    const first = await zombie.claim('wasm');
    assert.ok(first);
    // Its lease lapses (a long GC pause, a partition); another worker takes the job.
    await h.db.job.update({ where: { id: job.id }, data: { leaseExpiresAt: new Date(Date.now() - 1000) } });
    const successor = new JobRecords(h.db, job.id, 60_000);
    const second = await successor.claim('wasm');
    assert.ok(second && second.token > first.token);
    assert.equal(await zombie.claim('wasm'), null, 'a live lease cannot be taken');

    const epoch = { epoch: 1, loss: 1, accuracy: 0.5, valLoss: null, valAccuracy: null, durationMs: 1, examplesPerSec: 1, learningRate: 0.01, unfrozenBaseLayers: 0 };
    await assert.rejects(zombie.recordEpoch(epoch, 1, { prefix: 'jobs/x/checkpoints/epoch-1/', sizeBytes: 1 }), LeaseLostError);
    await assert.rejects(zombie.finishFailed('internal_error', 'zombie'), LeaseLostError);
    assert.equal(await zombie.renew(), false);
    assert.equal(await h.db.epochMetric.count({ where: { jobId: job.id } }), 0, 'nothing of the zombie\'s write is left');
    assert.equal((await h.db.job.findUniqueOrThrow({ where: { id: job.id } })).status, 'running');

    await successor.recordEpoch(epoch, 1, { prefix: 'jobs/x/checkpoints/epoch-1/', sizeBytes: 1 });
    assert.equal(await h.db.epochMetric.count({ where: { jobId: job.id } }), 1);
    await successor.finishFailed('internal_error', 'test over');
  });
});
