// GET /v1/jobs assembled from the job cache (issue 19, services/job-list.ts): the
// page's keys from Postgres, each job's body from memory where this instance has
// it. Checked against a second instance with the cache off (JOB_ETAG_CACHE_MS=0),
// which reads every page whole as before: byte for byte, with mixed pages, filters,
// cursors and another tenant's jobs interleaved in time. Writes straight to
// Postgres stand for a worker's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { listFromCache } from '../apps/api/src/services/job-list.ts';
import { JobReads } from '../apps/api/src/services/job-reads.ts';
import { JobPageBytes, PAGE_OVERHEAD, pageCost } from '../apps/api/src/services/job-page-bytes.ts';
import { createHarness, type Harness, type Tenant } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';

/** A change reaches the instance within this after its commit (see job-etag-cache.test.ts). */
const NOTIFY_BOUND_MS = 2000;

describe('job list from the job cache', () => {
  let h: Harness;
  let cached: App;
  let plain: App;
  let direct: pg.Client;
  const ids: string[] = [];
  let other: Tenant;
  before(async () => {
    h = await createHarness({ env: { JOB_ETAG_CACHE_MS: '60000' } });
    cached = h.app;
    plain = await buildApp({ ...h.config, jobEtagCache: { ...h.config.jobEtagCache, ttlMs: 0 } }, { logger: false });
    await plain.ready();
    direct = new pg.Client({ connectionString: h.config.databaseUrl });
    await direct.connect();
    const datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 })).id;
    for (let i = 0; i < 7; i++) ids.push((await submitJob(h.app, { type: 'pretrain', name: `job ${i}`, architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId })).id);
    // Some not queued, for the status filter.
    await direct.query(`UPDATE "Job" SET status = 'cancelled', "finishedAt" = now() WHERE id = ANY($1::uuid[])`, [[ids[1], ids[4], ids[5]]]);
    // Another tenant's copies of them: the same createdAt, so they interleave with these in the keyset.
    other = await h.newTenant('the other tenant');
    await direct.query(
      `INSERT INTO "Job" SELECT (jsonb_populate_record(NULL::"Job", to_jsonb(j) || jsonb_build_object('id', gen_random_uuid(), 'tenantId', $2::uuid))).* FROM "Job" j WHERE j.id = ANY($1::uuid[])`,
      [ids, other.tenantId],
    );
    for (let t = Date.now(); !cached.jobEtags.enabled; await sleep(20)) if (Date.now() - t > 15_000) throw new Error('listener not up within 15 s');
  });
  after(async () => {
    await direct?.end();
    await plain?.close();
    await h?.close();
  });

  const list = (app: App, query: string, key = h.tenant.apiKey) => http(app, key).get(`/v1/jobs?${query}`).expect(200);
  /** Every page of `query` (following nextCursor) from both instances: the same bytes and headers. */
  const same = async (query: string, key = h.tenant.apiKey) => {
    let after = '';
    const seen: string[] = [];
    for (;;) {
      const q = `${query}${after ? `&after=${after}` : ''}`;
      const [mine, theirs] = [await list(cached, q, key), await list(plain, q, key)];
      assert.equal(mine.text, theirs.text, q);
      for (const name of ['content-type', 'content-length']) assert.equal(mine.headers[name], theirs.headers[name], `${q}: ${name}`);
      seen.push(...mine.body.data.map((j: { id: string }) => j.id));
      if (!mine.body.hasMore) return seen;
      after = mine.body.nextCursor;
    }
  };
  const queries = ['limit=3', 'limit=2&status=queued', 'limit=2&status=cancelled', 'limit=20', 'limit=1&status=running'];

  it('pages from an empty, a mixed and a full cache are byte for byte the pages read whole', async () => {
    cached.jobEtags.clear();
    const all = await same('limit=20');
    assert.deepEqual([...all].sort(), [...ids].sort(), 'exactly this tenant\'s jobs');
    for (const id of ids) assert.ok(cached.jobEtags.lookupBody(h.tenant.tenantId, id), 'the list filled the cache');
    // Mixed: some bodies from a GET, some from the list, some not kept.
    cached.jobEtags.clear();
    await http(cached, h.tenant.apiKey).get(`/v1/jobs/${ids[2]}`).expect(200);
    await http(cached, h.tenant.apiKey).get(`/v1/jobs/${ids[5]}`).expect(200);
    for (const q of queries) {
      await same(q);
      cached.jobEtags.changed(ids[3]);
      cached.jobEtags.changed(ids[6]);
    }
    // Full: every body from memory.
    await same('limit=20');
    for (const q of queries) await same(q);
    const cancelled = await same('limit=1&status=cancelled');
    assert.deepEqual(new Set(cancelled), new Set([ids[1], ids[4], ids[5]]));
  });

  it('another tenant\'s jobs never appear, and its list does not take this tenant\'s bodies', async () => {
    await same('limit=20');
    // Its jobs are copies of these, the same createdAt: any slip in the tenant's scoping mixes the two.
    const theirs = await same('limit=2', other.apiKey);
    assert.equal(theirs.length, ids.length);
    assert.ok(theirs.every((id) => !ids.includes(id)));
    for (const id of theirs) assert.ok(cached.jobEtags.lookupBody(other.tenantId, id));
    assert.deepEqual(await same('limit=3'), [...(await same('limit=20'))], 'this tenant\'s pages are as before');
    assert.deepEqual((await same('limit=20', (await h.newTenant('a third tenant')).apiKey)), []);
  });

  it('a raw SQL write shows in the next list within the bound', async () => {
    await same('limit=20');
    const id = ids[0];
    await direct.query(`UPDATE "Job" SET progress = 0.25 WHERE id = $1`, [id]);
    const wrote = Date.now();
    const progress = async () => (await list(cached, 'limit=20')).body.data.find((j: { id: string }) => j.id === id).progress.fraction;
    while ((await progress()) !== 0.25) assert.ok(Date.now() - wrote <= NOTIFY_BOUND_MS, 'the old body outlived the bound');
    await same('limit=20');
  });

  it('a job deleted between the keys and the rows: the page is read whole', async () => {
    const [gone] = await direct.query(
      `INSERT INTO "Job" SELECT (jsonb_populate_record(NULL::"Job", to_jsonb(j) || jsonb_build_object('id', gen_random_uuid()))).* FROM "Job" j WHERE j.id = $1 RETURNING id`,
      [ids[0]],
    ).then((r) => r.rows.map((x) => x.id as string));
    // The row goes after the page's keys were read, before its row is.
    class Racing extends JobReads {
      override async byIds(tenantId: string, missing: string[]) {
        await direct.query(`DELETE FROM "Job" WHERE id = $1`, [gone]);
        return super.byIds(tenantId, missing);
      }
    }
    cached.jobEtags.changed(gone);
    const got = await listFromCache(new Racing(cached.sql), cached.jobEtags, h.tenant.tenantId, { limit: 20 }, JSON.stringify);
    assert.equal(got, undefined);
  });

  it('a row read before a change\'s notification is not kept after it (the fill race)', async () => {
    const id = ids[2];
    class Racing extends JobReads {
      override async byIds(tenantId: string, missing: string[]) {
        const rows = await super.byIds(tenantId, missing);
        const woke = cached.jobEtags.waitForChange(id, 10_000);
        await direct.query(`UPDATE "Job" SET progress = 0.5 WHERE id = $1`, [id]);
        await woke; // the notification arrived after the read
        return rows;
      }
    }
    cached.jobEtags.changed(id);
    const got = await listFromCache(new Racing(cached.sql), cached.jobEtags, h.tenant.tenantId, { limit: 20 }, JSON.stringify);
    assert.ok(got?.toString().includes(id), 'the page was assembled');
    assert.equal(cached.jobEtags.lookupBody(h.tenant.tenantId, id), undefined, 'the old row was kept');
    assert.equal((await list(cached, 'limit=20')).body.data.find((j: { id: string }) => j.id === id).progress.fraction, 0.5);
    await same('limit=20');
  });
});

describe('job list: kept page bytes', () => {
  it('a page is reused only with the same bodies and tail, and the bytes stay under their bound', () => {
    const pages = new JobPageBytes(10_000);
    const a = ['{"id":"a"}', '{"id":"b"}'];
    pages.set('p1', a, 'T', Buffer.alloc(40));
    assert.ok(pages.get('p1', [...a], 'T'));
    assert.equal(pages.get('p1', ['{"id":"a"}', '{"id":"B"}'], 'T'), undefined, 'a changed body');
    assert.equal(pages.get('p1', a, 'U'), undefined, 'another cursor');
    assert.equal(pages.get('p1', a.slice(0, 1), 'T'), undefined, 'fewer jobs');
    pages.set('big', a, 'T', Buffer.alloc(400)); // 2 × 400 + its key, tail and overhead: over a tenth of the bound, not kept
    assert.equal(pages.get('big', a, 'T'), undefined);

    const bound = 10_000;
    const counted = new JobPageBytes(bound);
    const key = (i: number) => `q${String(i).padStart(2, '0')}`;
    const cost = pageCost(key(0), a, 'T', Buffer.alloc(40));
    assert.ok(cost > 2 * 40 + PAGE_OVERHEAD, 'the key, the tail and a slot per body are counted');
    for (let i = 0; i < 60; i++) counted.set(key(i), a, 'T', Buffer.alloc(40));
    const kept = Array.from({ length: 60 }, (_, i) => counted.get(key(i), a, 'T')).filter(Boolean).length;
    assert.equal(kept, Math.floor(bound / cost), 'the newest pages that fit, each with its overhead');
    assert.ok(counted.get(key(59), a, 'T') && !counted.get(key(0), a, 'T'), 'the oldest went first');
  });

  it('keeps at most its page count, and never a slice of a shared pool block', () => {
    const pages = new JobPageBytes(1 << 20, 5);
    for (let i = 0; i < 8; i++) pages.set(`p${i}`, [], '', Buffer.from(`[${i}]`));
    const kept = Array.from({ length: 8 }, (_, i) => pages.get(`p${i}`, [], '')).filter(Boolean);
    assert.equal(kept.length, 5);
    const small = Buffer.from('{"data":[]}'); // allocated from Node's 8 KiB pool
    assert.ok(small.buffer.byteLength > small.length, 'the test needs a pooled Buffer');
    pages.set('small', [], '', small);
    const got = pages.get('small', [], '')!;
    assert.equal(got.toString(), '{"data":[]}');
    assert.equal(got.buffer.byteLength, got.length, 'its own memory, not the pool block');
  });
});
