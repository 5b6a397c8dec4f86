// MAX_RUNNING_JOBS_PER_TENANT across real worker processes: a worker that takes
// a job whose tenant already has the maximum running leaves it queued (it is
// deferred, not lost, not failed), other tenants' jobs run meanwhile, and the
// job runs once its tenant has room. The count is taken under the tenant's
// row lock in Postgres, so two workers never both take the last slot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness, type Tenant } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { killHard, spawnWorker, type WorkerProcess } from './helpers/processes.ts';

async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('running jobs per tenant', () => {
  let h: Harness;
  let other: Tenant;
  const workers: WorkerProcess[] = [];

  before(async () => {
    h = await createHarness({ env: { MAX_RUNNING_JOBS_PER_TENANT: '1' } });
    other = await h.newTenant('tenant B');
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await killHard(w);
    await h?.close();
  });

  it('a job over the limit waits queued while other tenants run, then runs; the tenant\'s jobs never overlap', async () => {
    const digits = (await createDataset(h.app, 'A digits', { type: 'mnist', classes: [0, 1], count: 100 })).id;
    const body = (trainDatasetId: string) => ({ type: 'pretrain', architecture: tinyMlp(2), hyperparameters: { epochs: 1 }, trainDatasetId });

    // The tenant's one slot is taken: a job some other worker holds with a live lease.
    const holder = await submitJob(h.app, body(digits));
    assert.equal((await http(h.app).post(`/v1/jobs/${holder.id}/pause`)).status, 202);
    await h.db.job.update({ where: { id: holder.id }, data: { status: 'running', startedAt: new Date(), leaseExpiresAt: new Date(Date.now() + 3_600_000) } });

    workers.push(await spawnWorker(h.config), await spawnWorker(h.config));
    const a2 = await submitJob(h.app, body(digits));
    const a3 = await submitJob(h.app, body(digits));
    const bDigits = (await http(h.app, other.apiKey).post('/v1/datasets').send({ name: 'B digits', source: { type: 'mnist', classes: [0, 1], count: 100 } })).body.id;
    const b1 = await http(h.app, other.apiKey).post('/v1/jobs').send(body(bDigits));
    assert.equal(b1.status, 202);

    // Both of A's jobs were taken by a worker and deferred; B's ran to the end meanwhile.
    for (const id of [a2.id, a3.id]) {
      const deferred = await until(`job ${id} deferred`, async () => h.db.jobEvent.findFirst({ where: { jobId: id, type: 'deferred' } }));
      assert.deepEqual((deferred.data as Record<string, unknown>).limit, 1);
      assert.equal((deferred.data as Record<string, unknown>).reason, 'MAX_RUNNING_JOBS_PER_TENANT');
    }
    await until('tenant B\'s job to finish', async () => {
      const j = (await http(h.app, other.apiKey).get(`/v1/jobs/${b1.body.id}`)).body;
      return finished(j) && j;
    }).then((j) => assert.equal(j.status, 'succeeded'));
    for (const id of [a2.id, a3.id]) {
      const j = (await http(h.app).get(`/v1/jobs/${id}`)).body;
      assert.equal(j.status, 'queued', 'still waiting: not run, not failed, not lost');
      assert.equal(j.attempts, 0);
      assert.equal(await h.db.jobEvent.count({ where: { jobId: id, type: 'status', data: { path: ['status'], equals: 'running' } } }), 0);
    }

    // The slot frees up: both run, one at a time, and finish.
    await h.db.job.update({ where: { id: holder.id }, data: { status: 'cancelled', finishedAt: new Date(), leaseExpiresAt: null } });
    for (const id of [a2.id, a3.id]) assert.equal((await waitForJob(h.app, id, finished, 240_000)).status, 'succeeded');

    const spans = await Promise.all([a2.id, a3.id].map(async (id) => {
      const statuses = await h.db.jobEvent.findMany({ where: { jobId: id, type: 'status' }, orderBy: { id: 'asc' } });
      const running = statuses.filter((e) => (e.data as { status: string }).status === 'running');
      const done = statuses.find((e) => (e.data as { status: string }).status === 'succeeded');
      assert.equal(running.length, 1, `job ${id} ran once`);
      return { start: running[0].id, end: done!.id };
    }));
    const [first, second] = spans.sort((x, y) => (x.start < y.start ? -1 : 1));
    assert.ok(first.end < second.start, `the tenant's jobs overlapped: ${JSON.stringify(spans, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  });
});
