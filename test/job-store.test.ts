// JobStore, the one writer of a job's status, against real Postgres: an illegal
// move is refused before anything is written; a status and its event are
// written together or not at all; a row whose JSON does not fit its schema is
// refused when read, with the column and row named.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { IllegalTransitionError, JobStore } from '../apps/shared/jobs/job-store.ts';
import { StoredJsonError } from '../apps/shared/jobs/decode.ts';
import { DEFAULT_HYPERPARAMETERS, type JobSpec } from '../apps/shared/jobs/spec.ts';
import { LEGAL_TRANSITIONS } from '../apps/shared/jobs/status.ts';

describe('JobStore', () => {
  let h: Harness;
  let store: JobStore;
  let datasetId: string;

  before(async () => {
    h = await createHarness();
    store = new JobStore(h.db);
    datasetId = (await http(h.app).post('/v1/datasets').send({ name: 'digits', source: { type: 'mnist', classes: [0, 1], count: 10 } })).body.id;
  });
  after(() => h?.close());

  async function newJob(): Promise<string> {
    const id = randomUUID();
    const spec: JobSpec = {
      type: 'pretrain', freeze: 'all', head: [], architecture: [{ type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }],
      hyperparameters: DEFAULT_HYPERPARAMETERS, labels: ['0', '1'], trainDatasetId: datasetId, compareWithScratch: false, targetValAccuracy: 0.9,
    };
    await h.db.$transaction((tx) => store.create(tx, { id, tenantId: h.tenant.tenantId, type: 'pretrain', spec, trainDatasetId: datasetId, totalEpochs: 3 }));
    return id;
  }
  const state = async (id: string) => ({
    status: (await h.db.job.findUniqueOrThrow({ where: { id } })).status,
    events: (await h.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { id: 'asc' } })).map((e) => ({ type: e.type, data: e.data })),
  });

  it('creates a job queued, with its status event', async () => {
    const id = await newJob();
    assert.deepEqual(await state(id), { status: 'queued', events: [{ type: 'status', data: { status: 'queued' } }] });
    const job = await store.read(id);
    assert.equal(job?.spec.hyperparameters.epochs, 3);
  });

  it('moves a job and writes its status event, preceded by the events that say why', async () => {
    const id = await newJob();
    assert.equal(await store.transition(h.db, id, 'queued', 'running'), true);
    const moved = await store.transition(h.db, id, 'running', 'queued', { errorCode: 'storage_unavailable' }, { before: [{ type: 'retry', data: { code: 'storage_unavailable', message: 'again', attempt: 1 } }] });
    assert.equal(moved, true);
    const s = await state(id);
    assert.equal(s.status, 'queued');
    assert.deepEqual(s.events.map((e) => e.type), ['status', 'status', 'retry', 'status']);
    assert.deepEqual(s.events.at(-1)!.data, { status: 'queued' });
  });

  it('refuses every move the table does not list, writing nothing', async () => {
    const id = await newJob();
    const before = await state(id);
    for (const [from, to] of [['queued', 'succeeded'], ['paused', 'running'], ['succeeded', 'running'], ['cancelled', 'queued'], ['failed', 'failed']] as const) {
      assert.ok(!LEGAL_TRANSITIONS[from].includes(to));
      // The job is queued: a `from` that also lists queued must not let an illegal pair through.
      await assert.rejects(store.transition(h.db, id, ['queued', from], to), IllegalTransitionError, `${from} → ${to}`);
    }
    assert.deepEqual(await state(id), before);
  });

  it('does not move a job that is in none of the statuses it is moved from', async () => {
    const id = await newJob();
    assert.equal(await store.transition(h.db, id, 'paused', 'queued'), false);
    assert.equal(await store.transition(h.db, id, 'queued', 'paused', {}, { where: { tenantId: randomUUID() } }), false);
    assert.equal((await state(id)).events.length, 1);
  });

  it('writes the status and its events together or not at all', async () => {
    const id = await newJob();
    const before = await state(id);
    // Postgres refuses NUL in jsonb: the event insert fails after the status update ran.
    await assert.rejects(store.transition(h.db, id, 'queued', 'cancelled', {}, { before: [{ type: 'warning', data: { message: 'bad \u0000 byte' } }] }));
    assert.deepEqual(await state(id), before);
    // Inside a caller's transaction that fails afterwards, neither is kept either.
    await assert.rejects(h.db.$transaction(async (tx) => {
      assert.equal(await store.transition(tx, id, 'queued', 'paused'), true);
      throw new Error('later write failed');
    }));
    assert.deepEqual(await state(id), before);
  });

  it('marks a job cancelled with the one message, saying how many checkpoints it keeps', async () => {
    const id = await newJob();
    await h.db.checkpoint.create({ data: { jobId: id, epoch: 1, prefix: `jobs/${id}/checkpoints/epoch-1/`, sizeBytes: 10 } });
    assert.equal(await store.cancel(h.db, id, ['queued', 'paused']), true);
    const job = await store.read(id);
    assert.equal(job?.status, 'cancelled');
    assert.equal(job?.errorCode, 'job_cancelled');
    assert.equal(job?.errorMessage, 'The job was cancelled; its 1 checkpoint(s) are kept');
    assert.deepEqual((await state(id)).events.at(-1)!.data, { status: 'cancelled', checkpointsKept: 1 });
  });

  it('refuses to read a row whose JSON does not fit its schema, naming the column', async () => {
    const id = await newJob();
    await h.db.job.update({ where: { id }, data: { resumePoint: { prefix: 'p/', epoch: 'two', batch: 0 } } });
    await assert.rejects(store.read(id), (err: unknown) => {
      assert.ok(err instanceof StoredJsonError);
      assert.equal(err.code, 'stored_record_invalid');
      assert.equal(err.column, 'job resumePoint');
      assert.match(err.fault, /^\/epoch/);
      return true;
    });
  });
});
