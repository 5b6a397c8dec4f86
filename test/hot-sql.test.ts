// The API's hot statements run on plain pg (issue 19, shared/db/sql.ts), beside
// Prisma: what they answer must be what Prisma stores, in any process time zone,
// and a job changed by any write (even one that leaves updatedAt alone) must
// not be answered 304 with its old ETag.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPg } from '../apps/shared/db/embedded-pg.ts';
import { createSqlPool } from '../apps/shared/db/sql.ts';

// pg's default parser reads a timestamp without a zone as local time; Prisma stores UTC.
process.env.TZ = 'America/New_York';

/** A raw write reaches the instance's job ETag cache within this (its notification; room for a loaded machine). */
const NOTIFY_BOUND_MS = 2000;

describe('hot SQL: job reads and submits on plain pg', () => {
  let h: Harness;
  let datasetId: string;
  before(async () => {
    h = await createHarness();
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 })).id;
  });
  after(async () => {
    await h?.close();
  });
  /**
   * Polls with a stale ETag right after a raw write: the instance's ETag cache may still answer
   * 304 until the write's notification arrives (milliseconds after the commit; docs/performance-api.md),
   * within NOTIFY_BOUND_MS and never later. The first other answer.
   */
  const untilChanged = async (id: string, etag: string) => {
    const wrote = Date.now();
    for (;;) {
      const res = await http(h.app).get(`/v1/jobs/${id}`).set('if-none-match', etag);
      if (res.status !== 304) return res;
      assert.ok(Date.now() - wrote <= NOTIFY_BOUND_MS, `still 304 ${Date.now() - wrote} ms after the write`);
      await sleep(10);
    }
  };

  it('a submit stores the job and its queued event; the 202, GET and list show what Prisma reads', async () => {
    assert.notEqual(new Date(2026, 0, 1).getTimezoneOffset(), 0, 'the test runs away from UTC');
    const res = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 2 }, trainDatasetId: datasetId, webhook: { url: 'https://example.com/hook', secret: 's3cret-s3cret-s3cret' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const row = await h.db.job.findUniqueOrThrow({ where: { id: res.body.id } });
    assert.equal(row.status, 'queued');
    assert.equal(row.tenantId, h.tenant.tenantId);
    assert.equal(row.webhookSecret, 's3cret-s3cret-s3cret');
    assert.equal(row.totalEpochs, 2);
    assert.equal(res.body.createdAt, row.createdAt.toISOString());
    assert.equal(res.body.updatedAt, row.updatedAt.toISOString());
    assert.ok(Math.abs(row.createdAt.getTime() - Date.now()) < 60_000, `createdAt ${row.createdAt.toISOString()} is now`);
    assert.deepEqual(res.body.spec, row.spec);
    const events = await h.db.jobEvent.findMany({ where: { jobId: row.id } });
    assert.deepEqual(events.map((e) => [e.type, e.data]), [['status', { status: 'queued' }]]);
    assert.equal(events[0].createdAt.toISOString(), row.createdAt.toISOString());

    const got = await http(h.app).get(`/v1/jobs/${row.id}`);
    assert.deepEqual(got.body, res.body);
    const page = await http(h.app).get('/v1/jobs?limit=50');
    assert.deepEqual(page.body.data.find((j: { id: string }) => j.id === row.id), res.body);
    const next = await http(h.app).get(`/v1/jobs?limit=1&status=queued`);
    assert.equal(next.status, 200);
    if (next.body.hasMore) assert.equal((await http(h.app).get(`/v1/jobs?limit=1&status=queued&after=${next.body.nextCursor}`)).status, 200);
  });

  it('a write that leaves updatedAt alone still changes the ETag: no 304 for a changed job', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const first = await http(h.app).get(`/v1/jobs/${job.id}`);
    assert.equal((await http(h.app).get(`/v1/jobs/${job.id}`).set('if-none-match', first.headers.etag)).status, 304);
    await h.db.$executeRaw`UPDATE "Job" SET progress = 0.5 WHERE id = ${job.id}::uuid`;
    const changed = await untilChanged(job.id, first.headers.etag);
    assert.equal(changed.status, 200);
    assert.equal(changed.body.progress.fraction, 0.5);
    assert.equal(changed.body.updatedAt, first.body.updatedAt);
  });

  it('a spec rewritten in Postgres is served as rewritten, though the old one was decoded and kept (spec cache)', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', name: 'before', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const first = await http(h.app).get(`/v1/jobs/${job.id}`);
    assert.equal(first.body.spec.name, 'before');
    assert.equal((await http(h.app).get('/v1/jobs?limit=50')).body.data.find((j: { id: string }) => j.id === job.id).name, 'before');
    await h.db.$executeRaw`UPDATE "Job" SET spec = jsonb_set(spec, '{name}', '"after"') WHERE id = ${job.id}::uuid`;
    const changed = await untilChanged(job.id, first.headers.etag);
    assert.equal(changed.status, 200);
    assert.equal(changed.body.spec.name, 'after');
    assert.equal(changed.body.name, 'after');
    assert.equal((await http(h.app).get('/v1/jobs?limit=50')).body.data.find((j: { id: string }) => j.id === job.id).name, 'after');
  });

  it('a dataset of another tenant, or none, is dataset_not_found; the quota counts before it', async () => {
    const other = await h.newTenant('other');
    const res = await http(h.app, other.apiKey).post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, 'dataset_not_found');
    assert.equal(await h.db.job.count({ where: { tenantId: other.tenantId } }), 0);
  });

  it('on the embedded PGlite (npm start), the same statement on several connections at once works', async () => {
    // Its connections share one session: a name prepared on one already exists for the next.
    const dir = await mkdtemp(path.join(tmpdir(), 'hot-sql-pglite-'));
    const pg = await startEmbeddedPg({ dir: path.join(dir, 'pg'), port: 0 });
    const pool = createSqlPool(pg.url, { prepared: false });
    try {
      const run = () => Promise.all(Array.from({ length: 6 }, (_, i) => pool.query<{ n: number }>({ name: 'same-name', text: 'SELECT $1::int + 1 AS n', values: [i] })));
      assert.deepEqual((await run()).map((r) => r.rows[0].n), [1, 2, 3, 4, 5, 6]);
      assert.equal((await run()).length, 6);
    } finally {
      await pool.end();
      await pg.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
