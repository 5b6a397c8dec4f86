// Outages are not the job's fault: with JOB_ATTEMPTS=1, jobs train on while
// Postgres is cut (and its connections terminated with 57P01, as a restart
// does), S3 is cut for seconds and Redis is cut and comes back empty; every
// job still succeeds on its first attempt, each epoch recorded once, no
// checkpoint listed without its files, and the API answers 503
// dependency_unavailable (never 500) while Postgres is away. Each dependency is
// cut through a TCP proxy this file owns (test/helpers/tcp-proxy.ts): the shared
// Postgres and Redis keep running for everyone else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob, type JobBody } from './helpers/api.ts';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.ts';
import { createDb, type Db } from '../apps/shared/db/prisma.ts';

// A Redis database of this file's own, so that emptying it touches no one else's queue.
const REDIS_DIRECT = 'redis://127.0.0.1:6379/11';
const CHECKPOINT_FILES = ['model.json', 'weights.bin', 'optimizer.bin', 'state.json'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  h: Harness;
  /** Postgres without the proxy, for the test's own reads. */
  direct: Db;
  directUrl: string;
  pgProxy: TcpProxy;
  s3Proxy: TcpProxy;
  redisProxy: TcpProxy;
}

async function setUp(env: Record<string, string>): Promise<Setup> {
  const redisProxy = await startTcpProxy(targetOf(REDIS_DIRECT));
  let pgProxy: TcpProxy | undefined;
  let s3Proxy: TcpProxy | undefined;
  let directUrl = '';
  const h = await createHarness({
    env: { ...env, REDIS_URL: redisProxy.via(REDIS_DIRECT) },
    route: async ({ databaseUrl, s3Endpoint }) => {
      directUrl = databaseUrl;
      pgProxy = await startTcpProxy(targetOf(databaseUrl));
      s3Proxy = await startTcpProxy(targetOf(s3Endpoint));
      return { databaseUrl: pgProxy.via(databaseUrl), s3Endpoint: s3Proxy.via(s3Endpoint) };
    },
  });
  return { h, direct: createDb(directUrl), directUrl, pgProxy: pgProxy!, s3Proxy: s3Proxy!, redisProxy };
}

async function tearDown(s: Setup | undefined) {
  if (!s) return;
  for (const p of [s.pgProxy, s.s3Proxy, s.redisProxy]) p.restore();
  await s.h.close();
  await s.direct.$disconnect();
  for (const p of [s.pgProxy, s.s3Proxy, s.redisProxy]) await p.close();
}

/** Ends this database's server connections with 57P01, as a Postgres restart does (only this file's database). */
async function terminateBackends(directUrl: string) {
  const name = new URL(directUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: directUrl.replace(`/${name}`, '/postgres') });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  } finally {
    await admin.end();
  }
}

/** Each listed checkpoint has all its files in S3. */
async function assertCheckpointsComplete(s: Setup, jobId: string) {
  const listed = await s.direct.checkpoint.findMany({ where: { jobId }, orderBy: { epoch: 'asc' } });
  for (const c of listed) {
    const keys = new Set((await s.h.storage.list(c.prefix)).map((o) => o.key.slice(c.prefix.length)));
    for (const file of CHECKPOINT_FILES) assert.ok(keys.has(file), `checkpoint ${c.prefix} is listed without ${file}`);
  }
  return listed.map((c) => c.epoch);
}

async function runningJobs(s: Setup, ids: string[]) {
  return s.direct.job.count({ where: { id: { in: ids }, status: 'running' } });
}

describe('outages: Postgres, S3 and Redis go away while jobs train', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({
      // One attempt: a dependency fault that cost one would fail the job.
      JOB_ATTEMPTS: '1',
      WORKER_CONCURRENCY: '2',
      OUTAGE_BUDGET_MS: '120000',
      OUTAGE_RETRY_MAX_MS: '1000',
      OUTAGE_PROBE_INTERVAL_MS: '300',
      RECONCILE_INTERVAL_MS: '1000',
      JOB_LEASE_MS: '10000',
      WORKER_LOCK_DURATION_MS: '10000',
    });
  });
  after(() => tearDown(s));

  it('every job succeeds on its first attempt, each epoch once; the API says 503 dependency_unavailable meanwhile', async () => {
    const { h } = s;
    const epochs = 8;
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 1200 });
    const body = (seed: number) => ({ type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs, batchSize: 8, seed, validationSplit: 0.1 }, trainDatasetId: dataset.id });
    const jobs: JobBody[] = [];
    for (let i = 0; i < 3; i++) jobs.push(await submitJob(h.app, body(i)));
    const ids = jobs.map((j) => j.id);
    await h.startWorker();
    await waitForJob(h.app, ids[0], (j) => j.status === 'running' && j.progress.epoch >= 1, 120_000);
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

    // Postgres: connections reset, server-side ones terminated (57P01), new ones refused, for 3 s.
    assert.ok((await runningJobs(s, ids)) > 0, 'the Postgres outage hits jobs in training');
    s.pgProxy.cut();
    await terminateBackends(s.directUrl);
    const cutUntil = Date.now() + 3_000;
    let refusedCreate = false;
    while (Date.now() < cutUntil) {
      const created = await http(h.app).post('/v1/jobs').send(body(9));
      count(created.status);
      if (created.status === 503) {
        assert.equal(created.body.error.code, 'dependency_unavailable');
        assert.equal(created.body.error.details.dependency, 'postgres');
        assert.ok(Number(created.headers['retry-after']) > 0, 'Retry-After is set');
        refusedCreate = true;
      }
      count((await http(h.app).get(`/v1/jobs/${ids[1]}`)).status);
      const ready = await http(h.app).get('/readyz');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.down, ['postgres']);
      await sleep(200);
    }
    s.pgProxy.restore();
    assert.ok(refusedCreate, 'job creation was refused with 503 during the outage');
    // Recovers without a restart: the pool opens new connections.
    for (const deadline = Date.now() + 15_000; ; await sleep(200)) {
      const res = await http(h.app).get(`/v1/jobs/${ids[1]}`);
      count(res.status);
      if (res.status === 200) break;
      assert.ok(Date.now() < deadline, `the API did not recover: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.equal(await s.direct.job.count(), 3, 'no job was half-created during the outage');

    // S3: cut for 8 s (the 20 s, scaled down).
    assert.ok((await runningJobs(s, ids)) > 0, 'the S3 outage hits jobs in training');
    s.s3Proxy.cut();
    await sleep(1_000);
    const ready = await http(h.app).get('/readyz');
    assert.deepEqual([ready.status, ready.body.down], [503, ['s3']]);
    await sleep(7_000);
    s.s3Proxy.restore();

    // Redis: cut, and back empty, as after a restart without persistence.
    assert.ok((await runningJobs(s, ids)) > 0, 'the Redis outage hits jobs in training');
    s.redisProxy.cut();
    const redis = new Redis(REDIS_DIRECT);
    await redis.flushdb();
    redis.disconnect();
    await sleep(2_000);
    s.redisProxy.restore();

    for (const id of ids) {
      const done = await waitForJob(h.app, id, finished, 240_000);
      assert.equal(done.status, 'succeeded', `${id}: ${JSON.stringify(done.error)}`);
      assert.equal(done.attempts, 1, `${id} spent no attempt on the outages`);
      const metrics = await s.direct.epochMetric.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } });
      assert.deepEqual(metrics.map((m) => m.epoch), Array.from({ length: epochs }, (_, i) => i + 1), 'every epoch recorded once');
      assert.deepEqual(await assertCheckpointsComplete(s, id), Array.from({ length: epochs }, (_, i) => i + 1));
    }
    assert.equal(statuses.get(500), undefined, `no 500 during the outages: ${JSON.stringify([...statuses])}`);
    assert.ok(statuses.get(503), 'the API answered 503 during the database outage');
  });
});

describe('outages: an S3 outage longer than OUTAGE_BUDGET_MS', () => {
  let s: Setup;
  before(async () => {
    s = await setUp({ JOB_ATTEMPTS: '3', WORKER_CONCURRENCY: '2', OUTAGE_BUDGET_MS: '3000', OUTAGE_RETRY_MAX_MS: '500', OUTAGE_PROBE_INTERVAL_MS: '300' });
  });
  after(() => tearDown(s));

  it('fails the job with dependency_unavailable, keeps its checkpoints, and POST /retry continues it from the last', async () => {
    const { h } = s;
    const epochs = 6;
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 1200 });
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs, batchSize: 8, seed: 1 }, trainDatasetId: dataset.id });
    await h.startWorker();
    await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 2, 120_000);
    s.s3Proxy.cut();
    const failed = await waitForJob(h.app, job.id, finished, 120_000);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'dependency_unavailable');
    assert.match(failed.error.message, /\bs3\b/, 'the error names the dependency');
    assert.equal(failed.attempts, 1, 'the outage spent no attempt');
    // While S3 is down the worker, with a free slot, takes no new job; it does once S3 is back.
    for (const deadline = Date.now() + 60_000; !h.worker!.down().includes('s3'); await sleep(200)) {
      assert.ok(Date.now() < deadline, 'the worker saw S3 down');
    }
    const next = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1, batchSize: 8, seed: 2 }, trainDatasetId: dataset.id });
    await sleep(2_500);
    const held = await s.direct.job.findUniqueOrThrow({ where: { id: next.id } });
    assert.deepEqual([held.status, held.attempts], ['queued', 0], 'no job is taken while a dependency is down');
    s.s3Proxy.restore();
    assert.equal((await waitForJob(h.app, next.id, finished, 120_000)).status, 'succeeded', 'the worker takes jobs again by itself');
    const kept = await assertCheckpointsComplete(s, job.id);
    assert.ok(kept.length >= 2, `the checkpoints are kept: ${kept}`);

    const retried = await http(h.app).post(`/v1/jobs/${job.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.status, 'queued');
    const done = await waitForJob(h.app, job.id, finished, 180_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const metrics = await s.direct.epochMetric.findMany({ where: { jobId: job.id }, orderBy: { epoch: 'asc' } });
    assert.deepEqual(metrics.map((m) => m.epoch), Array.from({ length: epochs }, (_, i) => i + 1), 'every epoch recorded once');
    const resumed = await s.direct.jobEvent.findFirst({ where: { jobId: job.id, type: 'attempt' }, orderBy: { id: 'desc' } });
    const from = (resumed?.data as { resumeFrom?: { epoch: number } } | null)?.resumeFrom;
    assert.ok(from && from.epoch >= kept.at(-1)!, `continued from its last checkpoint, not from scratch: ${JSON.stringify(resumed?.data)}`);
    assert.equal((await http(h.app).post(`/v1/jobs/${job.id}/retry`)).body.error.code, 'job_not_retryable');
  });
});
