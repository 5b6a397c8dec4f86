// How an attempt ends, in BullMQ's own terms, across the sandbox's process
// boundary (real Redis, a real forked child): a failed job fails once and is
// never retried (UnrecoverableError), a retry is retried with the backoff, a
// deferral waits in BullMQ's delayed set without using an attempt, and the
// worker process tells a dead child from one that threw, by type, not text.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfigWith } from '../apps/shared/config.ts';
import { attemptOutcome } from '../apps/worker/src/sandbox-outcomes.ts';
import type { OutcomeScript } from './fixtures/outcome-processor.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, submitJob, waitForJob, finished } from './helpers/api.ts';
import { irisLikeCsv } from './helpers/fixtures.ts';

const PROCESSOR = fileURLToPath(new URL('./fixtures/outcome-processor.ts', import.meta.url));

async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('attempt outcomes in BullMQ terms', () => {
  const name = `test-outcomes-${randomUUID().slice(0, 8)}`;
  let redis: Redis;
  let queue: Queue<{ script: OutcomeScript }>;
  let worker: Worker<{ script: OutcomeScript }>;
  const failures: Array<{ id: string; err: Error }> = [];
  const starts = new Map<string, number>();

  before(async () => {
    redis = new Redis(loadConfigWith({}).redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(name, { connection: redis });
    worker = new Worker(name, PROCESSOR, {
      connection: redis,
      concurrency: 2,
      useWorkerThreads: false,
      workerForkOptions: { execArgv: ['--import', 'tsx'] },
    });
    worker.on('failed', (job, err) => job && failures.push({ id: job.id!, err }));
    worker.on('active', (job) => starts.set(job.id!, (starts.get(job.id!) ?? 0) + 1));
  });
  after(async () => {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await redis.quit();
  });

  const add = (script: OutcomeScript, attempts = 3) =>
    queue.add('run-job', { script }, { jobId: randomUUID(), attempts, backoff: { type: 'fixed', delay: 50 } });
  const settled = (job: Job) => until(`job ${job.id} to settle`, async () => {
    const state = await queue.getJobState(job.id!);
    return (state === 'failed' || state === 'completed') && state;
  });
  const failuresOf = (job: Job) => failures.filter((f) => f.id === job.id);

  it('a failed job fails once, as UnrecoverableError, with attempts left', async () => {
    const job = await add({ outcome: 'failed', code: 'dataset_invalid', message: 'The CSV has no header' });
    assert.equal(await settled(job), 'failed');
    const after = (await queue.getJob(job.id!))!;
    assert.equal(after.attemptsMade, 1, 'never retried');
    assert.equal(after.failedReason, 'The CSV has no header');
    const [only, ...more] = failuresOf(job);
    assert.equal(more.length, 0);
    assert.equal(only.err.name, 'UnrecoverableError');
    assert.equal(attemptOutcome(only.err), 'failed');
    assert.equal((only.err as unknown as { code: string }).code, 'dataset_invalid');
  });

  it('a retry is retried with the backoff until its attempts run out', async () => {
    const job = await add({ outcome: 'retry', code: 'internal_error', message: 'S3 timed out' }, 2);
    assert.equal(await settled(job), 'failed');
    assert.equal((await queue.getJob(job.id!))!.attemptsMade, 2);
    assert.deepEqual(failuresOf(job).map((f) => attemptOutcome(f.err)), ['retry', 'retry']);
  });

  it('a deferral waits in the delayed set and uses no attempt', async () => {
    const job = await add({ outcome: 'deferred' });
    await until('the job to be deferred', async () => (await queue.getJobState(job.id!)) === 'delayed');
    // Taken again after the delay, and deferred again: still no attempt used, nothing failed.
    await until('a second try', async () => (starts.get(job.id!) ?? 0) >= 2, 20_000);
    await until('the second deferral', async () => (await queue.getJobState(job.id!)) === 'delayed');
    assert.equal((await queue.getJob(job.id!))!.attemptsMade, 0);
    assert.equal(failuresOf(job).length, 0);
    await (await queue.getJob(job.id!))!.remove();
  });

  it('the other outcomes complete the job with the outcome and backend', async () => {
    const job = await add({ outcome: 'handed_back' });
    assert.equal(await settled(job), 'completed');
    assert.deepEqual((await queue.getJob(job.id!))!.returnvalue, { outcome: 'handed_back', backend: 'test-backend' });
  });

  it('a child that dies is a crash; one that threw before settling is an error; neither by its message', async () => {
    const died = await add('exit', 1);
    const threw = await add('throw', 1);
    assert.equal(await settled(died), 'failed');
    assert.equal(await settled(threw), 'failed');
    assert.deepEqual(failuresOf(died).map((f) => attemptOutcome(f.err)), ['crashed']);
    assert.deepEqual(failuresOf(threw).map((f) => attemptOutcome(f.err)), ['error']);
    // What decides is the typed property, not the text.
    assert.equal(attemptOutcome(new Error('Unexpected exit code: 1 signal: null')), 'crashed');
    assert.equal(attemptOutcome(Object.assign(new Error('Unexpected exit code: 1'), { outcome: 'retry' })), 'retry');
  });
});

describe('a job that fails in the worker', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(async () => {
    await h?.close();
  });

  it('fails its BullMQ job once, never retried though attempts are left, as Postgres records it', async () => {
    assert.ok(h.config.worker.jobAttempts > 1);
    await h.storage.put(`${h.uploads}iris.csv`, irisLikeCsv(30));
    const ds = await createDataset(h.app, 'iris', { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}iris.csv`, format: 'csv', labelColumn: 'species' });
    // The dataset's stored shards change under it: a label the job was not set up with (bad input, found in the worker).
    const row = await h.db.dataset.findUniqueOrThrow({ where: { id: ds.id } });
    const indexKey = `${(row.source as { prefix: string }).prefix}index.json`;
    const index = JSON.parse(Buffer.from(await h.storage.getBytes(indexKey)).toString('utf8')) as { seen: string[] };
    await h.storage.put(indexKey, JSON.stringify({ ...index, seen: [...index.seen.slice(0, -1), 'other'] }));
    const job = await submitJob(h.app, { type: 'pretrain', architecture: [{ type: 'dense', units: 3, activation: 'softmax' }], hyperparameters: { epochs: 1 }, trainDatasetId: ds.id });
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.code, 'label_mismatch');
    const redis = new Redis(h.config.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(h.config.queueName, { connection: redis });
    try {
      const bull = await until('the BullMQ job to fail', async () => {
        const j = await queue.getJob(job.id);
        return j && (await j.getState()) === 'failed' && j;
      });
      assert.equal(bull.attemptsMade, 1);
      assert.equal(bull.failedReason, done.error.message);
    } finally {
      await queue.close();
      await redis.quit();
    }
  });
});
