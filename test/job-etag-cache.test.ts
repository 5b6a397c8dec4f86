// The job ETag cache (issue 19): a 304 from memory, kept right by Postgres's
// notifications. Two API instances on one database, reached through a proxy that
// can cut them off; writes "behind the API's back" go straight to Postgres as a
// worker's do. The cache's own bound (JOB_ETAG_CACHE_MS) is set far above every
// bound asserted here, so only the notifications can make these tests pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.ts';

/** A change reaches every instance within this after its commit (the notification's delay, with room for a loaded machine). */
const NOTIFY_BOUND_MS = 2000;

describe('job ETag cache: 304 without Postgres, invalidated by NOTIFY', () => {
  let h: Harness;
  let second: App;
  let proxy: TcpProxy;
  let direct: pg.Client;
  let datasetId: string;
  before(async () => {
    h = await createHarness({
      env: { JOB_ETAG_CACHE_MS: '60000', EVENTS_POLL_MS: '10000' },
      route: async (d) => {
        proxy = await startTcpProxy(targetOf(d.databaseUrl));
        direct = new pg.Client({ connectionString: d.databaseUrl });
        await direct.connect();
        return { ...d, databaseUrl: proxy.via(d.databaseUrl) };
      },
    });
    second = await buildApp(h.config, { logger: false });
    await second.ready();
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 })).id;
  });
  after(async () => {
    await direct?.end();
    await second?.close();
    await h?.close();
    await proxy?.close();
  });

  const online = async (app: App) => {
    for (let t = Date.now(); !app.jobEtags.enabled; await sleep(20)) if (Date.now() - t > 15_000) throw new Error('listener not back within 15 s');
  };
  /** Once app's listener has handled every notification committed before this call (they come in commit order). */
  const caughtUp = async (app: App) => {
    const marker = `marker-${randomUUID()}`;
    const seen = app.jobEtags.waitForChange(marker, 10_000);
    const since = Date.now();
    await direct.query(`SELECT pg_notify('job_changed', $1)`, [marker]);
    await seen;
    assert.ok(Date.now() - since <= NOTIFY_BOUND_MS, 'the marker did not come back');
  };
  const newJob = async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const etag = (await http(second, h.tenant.apiKey).get(`/v1/jobs/${job.id}`).expect(200)).headers.etag as string;
    return { id: job.id as string, etag };
  };
  const poll = (id: string, etag: string, app = second) => http(app, h.tenant.apiKey).get(`/v1/jobs/${id}`).set('if-none-match', etag);
  /** Polls with the old ETag until a 200; how long after `since` it came. */
  const until200 = async (id: string, etag: string, since: number) => {
    for (;;) {
      const res = await poll(id, etag);
      if (res.status === 200) return { ms: Date.now() - since, res };
      assert.equal(res.status, 304);
      if (Date.now() - since > 10_000) return { ms: Infinity, res };
      await sleep(10);
    }
  };

  it('a matching If-None-Match is answered from the cache; a raw SQL write turns it into a 200 within the bound', async (t) => {
    await online(second);
    const { id, etag } = await newJob();
    assert.equal(second.jobEtags.lookup(h.tenant.tenantId, id), etag.slice(1, -1), 'the 200 filled the cache');
    assert.equal((await poll(id, etag)).status, 304);
    // As a worker writes: plain SQL, updatedAt untouched.
    await direct.query(`UPDATE "Job" SET progress = 0.5 WHERE id = $1`, [id]);
    const { ms, res } = await until200(id, etag, Date.now());
    assert.ok(ms <= NOTIFY_BOUND_MS, `200 after ${ms} ms, bound ${NOTIFY_BOUND_MS} ms`);
    t.diagnostic(`raw SQL write to 200: ${ms} ms`);
    assert.equal(res.body.progress.fraction, 0.5);
    // The output model's id and JobAdvice.auto are in the ETag too: their tables notify as well
    // (a JobAdvice row with auto null leaves the ETag as it was, but the entry must still go).
    await direct.query(`INSERT INTO "JobAdvice" ("jobId", advice, auto) VALUES ($1, '{}', NULL)`, [id]);
    const since = Date.now();
    while (second.jobEtags.lookup(h.tenant.tenantId, id) !== undefined) {
      assert.ok(Date.now() - since <= NOTIFY_BOUND_MS, 'JobAdvice insert not notified');
      await sleep(10);
    }
  });

  it('a plain GET of an unchanged job is answered from memory, byte for byte as from Postgres; a raw SQL write shows within the bound', async () => {
    await online(second);
    const { id } = await newJob();
    const get = () => http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`).expect(200);
    const fromMemory = await get();
    assert.ok(second.jobEtags.lookupBody(h.tenant.tenantId, id), 'the body is kept');
    second.jobEtags.changed(id);
    const fromPostgres = await get();
    for (const name of ['etag', 'content-type', 'content-length', 'cache-control']) assert.equal(fromMemory.headers[name], fromPostgres.headers[name], name);
    assert.equal(fromMemory.text, fromPostgres.text);
    await direct.query(`UPDATE "Job" SET progress = 0.75 WHERE id = $1`, [id]);
    const wrote = Date.now();
    while ((await get()).body.progress.fraction !== 0.75) assert.ok(Date.now() - wrote <= NOTIFY_BOUND_MS, 'the old body outlived the bound');
  });

  it('a read that began before a notification for its job does not fill the cache', async () => {
    await online(second);
    const { id, etag } = await newJob();
    second.jobEtags.changed(id); // forget it: the next poll reads Postgres
    const ticket = second.jobEtags.begin();
    const version = etag.slice(1, -1); // what a read that began now would bring back
    const woke = second.jobEtags.waitForChange(id, 10_000);
    await direct.query(`UPDATE "Job" SET epoch = 1 WHERE id = $1`, [id]);
    await woke; // the notification arrived
    second.jobEtags.fill(ticket, h.tenant.tenantId, id, version);
    assert.equal((await poll(id, etag)).status, 200, 'the old version came back from the cache');
  });

  it('a write through an instance drops its entry there before the response leaves', async () => {
    await online(second);
    const { id } = await newJob();
    await http(second, h.tenant.apiKey).post(`/v1/jobs/${id}/cancel`).expect(202);
    await caughtUp(second); // the cancel's own notification must not drop the entry the GET below fills
    const etag = (await http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`).expect(200)).headers.etag as string;
    assert.equal(second.jobEtags.lookup(h.tenant.tenantId, id), etag.slice(1, -1));
    // Pausing a cancelled job writes nothing (409), so no notification comes: only the route's own drop can empty it.
    await http(second, h.tenant.apiKey).post(`/v1/jobs/${id}/pause`).expect(409);
    assert.equal(second.jobEtags.lookup(h.tenant.tenantId, id), undefined);
  });

  it('a write that did not happen (404) drops nothing: neither another tenant\'s entry nor every entry', async () => {
    await online(second);
    const { id, etag } = await newJob();
    await caughtUp(second);
    const stranger = await h.newTenant('a stranger');
    await http(second, stranger.apiKey).post(`/v1/jobs/${id}/cancel`).expect(404);
    await http(second, stranger.apiKey).delete(`/v1/models/${randomUUID()}`).expect(404);
    assert.equal(second.jobEtags.lookup(h.tenant.tenantId, id), etag.slice(1, -1));
  });

  it('another tenant never gets a 304 or learns the job exists', async () => {
    await online(second);
    const { id, etag } = await newJob();
    assert.equal((await poll(id, etag)).status, 304);
    const other = await h.newTenant('the other tenant');
    const theirs = await http(second, other.apiKey).get(`/v1/jobs/${id}`).set('if-none-match', etag);
    const missing = await http(second, other.apiKey).get('/v1/jobs/00000000-0000-4000-8000-000000000000').set('if-none-match', etag);
    assert.equal(theirs.status, 404);
    assert.deepEqual({ ...theirs.body.error, details: undefined, message: undefined }, { ...missing.body.error, details: undefined, message: undefined });
    assert.equal(theirs.body.error.code, 'job_not_found');
  });

  it('after the listener\'s connection is lost, nothing it missed is answered 304 once it is back', async () => {
    await online(second);
    const { id, etag } = await newJob();
    assert.equal((await poll(id, etag)).status, 304);
    proxy.cut();
    for (let t = Date.now(); second.jobEtags.enabled; await sleep(10)) assert.ok(Date.now() - t < 10_000, 'the loss was not noticed');
    // Written while nobody listens: this notification is lost.
    await direct.query(`UPDATE "Job" SET progress = 0.25 WHERE id = $1`, [id]);
    proxy.restore();
    await online(second);
    const res = await poll(id, etag);
    assert.equal(res.status, 200);
    assert.equal(res.body.progress.fraction, 0.25);
  });

  it('the listener terminated by Postgres reconnects; changes are seen again', async () => {
    await online(second);
    await online(h.app);
    const { rowCount } = await direct.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'finetune-api job changes' AND datname = current_database()`);
    assert.equal(rowCount, 2, 'one listener per instance');
    await sleep(100);
    await online(second);
    const { id, etag } = await newJob();
    assert.equal((await poll(id, etag)).status, 304);
    await direct.query(`UPDATE "Job" SET "errorMessage" = 'x' WHERE id = $1`, [id]);
    const { ms } = await until200(id, etag, Date.now());
    assert.ok(ms <= NOTIFY_BOUND_MS, `200 after ${ms} ms`);
  });

  it('a long poll wakes on the notification, not on its next re-read (EVENTS_POLL_MS is 10 s here)', async () => {
    await online(second);
    const { id, etag } = await newJob();
    const waiting = poll(id, etag).query({ waitForChangeMs: 20_000 }).then((r) => r);
    await sleep(300);
    const wrote = Date.now();
    await direct.query(`UPDATE "Job" SET epoch = 1 WHERE id = $1`, [id]);
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(res.body.progress.epoch, 1);
    assert.ok(Date.now() - wrote <= NOTIFY_BOUND_MS, `answered ${Date.now() - wrote} ms after the write`);
  });
});
