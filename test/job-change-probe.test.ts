// The job ETag cache's guards (issue 19): it goes online only once a probe has
// come back on the listener, stays off without the triggers, really answers from
// memory (counted, and still with the pool's Postgres cut), a read in flight when
// its job changes does not fill it, and every table a job's response reads notifies.
// The pool goes through a proxy; the listener of `second` goes to Postgres directly
// (JOB_CHANGES_DATABASE_URL), so the two can be cut or held apart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildApp, type App } from '../apps/api/src/app.ts';
import type { Config } from '../apps/shared/config.ts';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { createDataset, http, submitJob, tinyMlp } from './helpers/api.ts';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.ts';

describe('job ETag cache: probe, triggers, hits, fill race through the real read', () => {
  let h: Harness;
  let second: App;
  let proxy: TcpProxy;
  let direct: pg.Client;
  let directUrl: string;
  let datasetId: string;
  const apps: App[] = [];
  const build = async (patch: Partial<Config['jobEtagCache']>) => {
    const app = await buildApp({ ...h.config, jobEtagCache: { ...h.config.jobEtagCache, ...patch } }, { logger: false });
    apps.push(app);
    await app.ready();
    return app;
  };
  before(async () => {
    h = await createHarness({
      env: { JOB_ETAG_CACHE_MS: '60000', EVENTS_POLL_MS: '10000' },
      route: async (d) => {
        directUrl = d.databaseUrl;
        proxy = await startTcpProxy(targetOf(d.databaseUrl));
        direct = new pg.Client({ connectionString: d.databaseUrl });
        await direct.connect();
        return { ...d, databaseUrl: proxy.via(d.databaseUrl) };
      },
    });
    second = await build({ listenUrl: directUrl });
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 })).id;
  });
  after(async () => {
    proxy?.release();
    await direct?.end();
    for (const app of apps) await app.close();
    await h?.close();
    await proxy?.close();
  });

  const online = async (app: App) => {
    for (let t = Date.now(); !app.jobEtags.enabled; await sleep(20)) if (Date.now() - t > 15_000) throw new Error('listener not online within 15 s');
  };
  /** True if the cache was on at any moment during ms. */
  const everOnline = async (app: App, ms: number) => {
    for (let t = Date.now(); Date.now() - t < ms; await sleep(10)) if (app.jobEtags.enabled) return true;
    return false;
  };
  const newJob = async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const res = await http(second, h.tenant.apiKey).get(`/v1/jobs/${job.id}`).expect(200);
    return { id: job.id as string, etag: res.headers.etag as string };
  };
  const poll = (id: string, etag: string) => http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`).set('if-none-match', etag);

  it('a listener that LISTENs where no notification comes (another database) never turns the cache on', async () => {
    const elsewhere = new URL(directUrl);
    elsewhere.pathname = '/postgres';
    const app = await build({ ttlMs: 1000, listenUrl: elsewhere.toString() });
    // Probes every 500 ms, each missed: the cache must stay off through several.
    assert.equal(await everOnline(app, 2500), false, 'online without a probe coming back');
  });

  it('stays off while the job_changed trigger is missing (migration not applied), and comes on once it is there', async () => {
    await direct.query(`ALTER TRIGGER "Job_changed" ON "Job" RENAME TO "Job_changed_gone"`);
    try {
      const app = await build({ ttlMs: 1000, listenUrl: directUrl });
      assert.equal(await everOnline(app, 2000), false, 'online without the trigger');
    } finally {
      await direct.query(`ALTER TRIGGER "Job_changed_gone" ON "Job" RENAME TO "Job_changed"`);
    }
    await online(apps.at(-1)!);
  });

  it('reads are answered from memory: counted in finetune_job_cache_hits_total, and still with the pool\'s Postgres cut', async () => {
    await online(second);
    const { id, etag } = await newJob();
    const before = { ...second.jobEtags.hits };
    assert.equal((await poll(id, etag)).status, 304);
    await http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`).expect(200);
    assert.ok(second.jobEtags.hits.version > before.version, 'no version hit');
    assert.ok(second.jobEtags.hits.body > before.body, 'no body hit');
    const metrics = (await http(second, TEST_ADMIN_KEY).get('/metrics').expect(200)).text;
    assert.match(metrics, /finetune_job_cache_hits_total\{kind="version"\} [1-9]/);
    assert.match(metrics, /finetune_job_cache_hits_total\{kind="body"\} [1-9]/);
    assert.match(metrics, /finetune_pg_notification_queue_usage \d/);
    proxy.cut();
    try {
      assert.equal(second.jobEtags.enabled, true, 'the listener (direct) is up');
      assert.equal((await poll(id, etag)).status, 304, 'a 304 needed the pool');
      assert.equal((await http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`)).headers.etag, etag, 'a plain GET needed the pool');
    } finally {
      proxy.restore();
    }
  });

  it('a real GET whose Postgres read is in flight when its job changes does not fill the cache with what it read', async () => {
    await online(second);
    const { id, etag } = await newJob();
    second.jobEtags.changed(id); // forget it: the next GET reads Postgres
    proxy.hold(); // Postgres answers the read, the answer waits in the proxy
    const inflight = http(second, h.tenant.apiKey).get(`/v1/jobs/${id}`).then((r) => r);
    await sleep(300);
    const woke = second.jobEtags.waitForChange(id, 10_000);
    await direct.query(`UPDATE "Job" SET epoch = 1 WHERE id = $1`, [id]);
    await woke; // the notification came (the listener is not behind the proxy)
    proxy.release();
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(res.headers.etag, etag, 'the read was made before the write');
    assert.equal((await poll(id, etag)).status, 200, 'the version read before the write was kept');
  });

  it('every table a job\'s response reads has a job_changed trigger', async () => {
    const source = readFileSync(new URL('../apps/api/src/services/job-reads.ts', import.meta.url), 'utf8');
    const tables = new Set([...source.matchAll(/\b(?:FROM|JOIN)\s+"(\w+)"/g)].map((m) => m[1]));
    for (const t of ['Job', 'Model', 'JobAdvice']) assert.ok(tables.has(t), `${t} not found in job-reads.ts`);
    const { rows } = await direct.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
       WHERE NOT t.tgisinternal AND p.proname = 'notify_job_changed'`,
    );
    const notifying = new Set(rows.map((r) => r.table));
    for (const t of tables) assert.ok(notifying.has(t), `"${t}" is read by a job's response but has no job_changed trigger`);
  });

  it('only an UPDATE that changes a column of the response notifies; the trigger compares every Job column VIEW reads', async () => {
    const source = readFileSync(new URL('../apps/api/src/services/job-reads.ts', import.meta.url), 'utf8');
    const view = source.slice(source.indexOf('const VIEW = ['), source.indexOf('];', source.indexOf('const VIEW = [')));
    const columns = [...view.matchAll(/'j\.(?:"(\w+)"|(\w+))/g)].map((m) => m[1] ?? m[2]);
    assert.ok(columns.length >= 20, `${columns.length} Job columns found in VIEW`);
    const { rows } = await direct.query<{ def: string }>(`SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t WHERE t.tgname = 'Job_changed'`);
    const when = rows[0].def.slice(rows[0].def.indexOf('WHEN'));
    for (const c of columns) assert.ok(new RegExp(`old\\.\"?${c}\"?\\b`).test(when), `"${c}" is in a job's response but not compared by the Job_changed trigger`);
    // What arrives for one job: a no-op update and a lease write must send nothing.
    const { id } = await newJob();
    const listener = new pg.Client({ connectionString: directUrl });
    await listener.connect();
    try {
      const got: string[] = [];
      listener.on('notification', (n) => n.payload === id && got.push(n.payload));
      await listener.query('LISTEN job_changed');
      await direct.query(`UPDATE "Job" SET status = status, progress = progress WHERE id = $1`, [id]);
      await direct.query(`UPDATE "Job" SET "leaseExpiresAt" = now(), "leaseToken" = "leaseToken" + 1, "interruptRequest" = 'pause' WHERE id = $1`, [id]);
      await direct.query(`UPDATE "Job" SET progress = 0.5 WHERE id = $1`, [id]);
      for (let t = Date.now(); !got.length; await sleep(10)) assert.ok(Date.now() - t < 5000, 'the change was not notified');
      await sleep(100);
      assert.equal(got.length, 1, 'only the progress write notifies');
    } finally {
      await listener.end();
    }
  });
});
