// The queued-jobs limit where jobs are inserted outside the submit's own
// place-taking (a sweep's trial starts, an advice job): queuedRoom holds the
// tenant's counter stripes until the inserting transaction commits, so a submit
// racing it is not admitted past the limit on the strength of a stale count.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http, tinyMlp } from './helpers/api.ts';
import { JobStore } from '../apps/shared/jobs/job-store.ts';
import { queuedRoom } from '../apps/shared/sweeps/quota.ts';

const QUOTA = 20;

describe('queued-jobs limit against inserts outside the submit', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ env: { MAX_QUEUED_JOBS_PER_TENANT: String(QUOTA) } });
  });
  after(() => h?.close());

  it('submits racing a transaction that took its room and inserts several jobs do not pass the limit', async () => {
    const t = await h.newTenant('trials');
    const api = () => http(h.app, t.apiKey);
    const dataset = (await api().post('/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 20 } })).body.id as string;
    const body = { type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: dataset };
    assert.equal((await api().post('/v1/jobs').send(body)).status, 202);
    const store = new JobStore(h.db);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let inTx!: () => void;
    const started = new Promise<void>((r) => { inTx = r; });
    // As a sweep's advance does: the room, then its trials (all in stripe 0), then commit.
    const sweepLike = h.db.$transaction(async (tx) => {
      const room = await queuedRoom(tx, t.tenantId, QUOTA);
      for (let i = 0; i < room - 1; i++) {
        await store.create(tx, { id: randomUUID(), tenantId: t.tenantId, type: 'pretrain', spec: { ...body, hyperparameters: {} } as never, trainDatasetId: dataset, totalEpochs: 1 });
      }
      inTx();
      await held;
    }, { timeout: 20_000 });
    await started;
    // One place is left; four submits race for it while the trials are uncommitted.
    const racing = Promise.all(Array.from({ length: 4 }, () => api().post('/v1/jobs').send(body)));
    await new Promise((r) => setTimeout(r, 300));
    release();
    await sweepLike;
    const statuses = (await racing).map((r) => r.status).sort();
    const queued = await h.db.job.count({ where: { tenantId: t.tenantId, status: { in: ['queued', 'paused'] } } });
    assert.equal(queued, QUOTA, `${queued} queued for a limit of ${QUOTA}; submits answered ${statuses.join(',')}`);
    assert.deepEqual(statuses, [202, 429, 429, 429]);
  });
});
