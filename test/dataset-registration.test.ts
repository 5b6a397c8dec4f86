// Image registration in the background (issue 17): POST /v1/datasets answers
// 202 `validating` before any object is read, progress only moves forward to
// the final counts (on GET and over SSE), a cancel stops it and deletes what it
// wrote, and a registration left `validating` by a dead API process is failed,
// with its objects deleted, when an API process starts (or at once, by a
// process that shuts down gracefully).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../apps/api/src/app.ts';
import { STALE_MS } from '../apps/api/src/services/dataset-validation.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { api, followDataset, http } from './helpers/api.ts';
import { encode, mnistDigits } from './helpers/images.ts';

type Progress = { objectsTotal: number | null; objectsDone: number; bytesRead: number; classCounts: Array<{ label: string; count: number }> };

/** Each step of the sequence is at or past the one before it. */
function assertMonotonic(seen: Progress[], what: string) {
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1], seen[i]];
    assert.ok(b.objectsDone >= a.objectsDone && b.bytesRead >= a.bytesRead, `${what} ${i}: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
    if (a.objectsTotal !== null) assert.equal(b.objectsTotal, a.objectsTotal, `${what} ${i}: the total stays put`);
    for (const c of a.classCounts) assert.ok((b.classCounts.find((x) => x.label === c.label)?.count ?? -1) >= c.count, `${what} ${i}: class ${c.label} went back`);
  }
}

describe('image registration in the background', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h?.close());

  const uri = (key: string) => `s3://${h.storage.bucket}/${h.uploads}${key}`;
  const validatingRow = (id: string, heartbeatAt: Date) =>
    h.db.dataset.create({ data: { id, tenantId: h.tenant.tenantId, name: 'left behind', source: {}, featureShape: [], numExamples: 0, labels: [], classCounts: [], status: 'validating', heartbeatAt } });

  it('300 images: 202 before any object is read, then progress that only moves forward to the final counts', async () => {
    const digits = await mnistDigits([0, 1, 2], 100);
    await Promise.all(digits.map(async (d, i) => h.storage.put(`${h.uploads}many/${d.label}/${i}.png`, await encode.png(d))));
    const res = await http(h.app).post('/v1/datasets').send({ name: 'many', source: { type: 'images', layout: 'folders', uri: uri('many/'), preprocess: { size: [28, 28], channels: 'grayscale' } } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.location, `/v1/datasets/${res.body.id}`);
    assert.equal(res.body.status, 'validating');
    assert.equal(res.body.progress.objectsDone, 0, 'answered before any object was read');
    assert.deepEqual([res.body.numExamples, res.body.labels], [0, []]);

    // Polled and streamed at once: both see only forward steps.
    const streamed: Progress[] = [];
    const [polled, ready] = await Promise.all([followDataset(h.app, res.body.id), api(h.app).datasets.wait(res.body.id, { onProgress: (d) => d.progress && streamed.push(d.progress) })]);
    const seen = [res.body, ...polled].map((d) => d.progress as Progress);
    assertMonotonic(seen, 'GET');
    assertMonotonic(streamed, 'SSE');
    const last = polled.at(-1)!;
    assert.equal(last.status, 'ready', JSON.stringify(last.error));
    assert.deepEqual(last.progress.objectsTotal, 300);
    assert.equal(last.progress.objectsDone, 300);
    assert.deepEqual(last.progress.classCounts, [{ label: '0', count: 100 }, { label: '1', count: 100 }, { label: '2', count: 100 }]);
    assert.deepEqual(last.classCounts, last.progress.classCounts);
    assert.equal(last.numExamples, 300);
    assert.equal(ready.status, 'ready');
    assert.deepEqual(streamed.at(-1), last.progress);
    // Listing shows the status too.
    const listed = (await http(h.app).get('/v1/datasets')).body.data.find((d: { id: string }) => d.id === res.body.id);
    assert.equal(listed.status, 'ready');
  });

  it('a job on a dataset still validating is refused with 409 dataset_not_ready', async () => {
    const id = randomUUID();
    await validatingRow(id, new Date());
    const job = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: [{ type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }], trainDatasetId: id });
    assert.equal(job.status, 409, JSON.stringify(job.body));
    assert.equal(job.body.error.code, 'dataset_not_ready');
    assert.deepEqual(job.body.error.details, { id, status: 'validating' });
    await h.db.dataset.delete({ where: { id } });
  });

  it('a cancel stops the registration running here and deletes every object it wrote before answering', async () => {
    const id = randomUUID();
    await validatingRow(id, new Date());
    let sawAbort = false;
    // A registration that has written a shard and is still going when the cancel comes.
    h.app.datasetService.validator.start(id, async (_id, signal) => {
      await h.storage.put(`datasets/${id}/shard-00000.u8`, new Uint8Array(64));
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      sawAbort = true;
      // What the image registration does on an abort: delete what it wrote, then throw.
      await h.storage.deletePrefix(`datasets/${id}/`);
      throw signal.reason;
    });
    while ((await h.storage.list(`datasets/${id}/`)).length === 0) await new Promise((r) => setTimeout(r, 20));
    const res = await http(h.app).post(`/v1/datasets/${id}/cancel`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.error.code, 'registration_cancelled');
    assert.ok(sawAbort, 'the running registration was stopped');
    assert.deepEqual(await h.storage.list(`datasets/${id}/`), [], 'no object left');
    const again = await http(h.app).post(`/v1/datasets/${id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'dataset_not_validating');
  });

  it('an API process starting fails a registration whose process died (stale heartbeat) and deletes its objects; a live one is left alone', async () => {
    const dead = randomUUID();
    const live = randomUUID();
    await validatingRow(dead, new Date(Date.now() - STALE_MS - 60_000));
    await validatingRow(live, new Date());
    await h.storage.put(`datasets/${dead}/shard-00000.u8`, new Uint8Array(64));
    await h.storage.put(`datasets/${live}/shard-00000.u8`, new Uint8Array(64));
    const restarted = await buildApp(h.config, { logger: false });
    try {
      await restarted.ready();
      const row = await h.db.dataset.findUniqueOrThrow({ where: { id: dead } });
      assert.equal(row.status, 'failed');
      assert.equal((row.error as { code: string }).code, 'registration_interrupted');
      assert.deepEqual(await h.storage.list(`datasets/${dead}/`), []);
      assert.equal((await h.db.dataset.findUniqueOrThrow({ where: { id: live } })).status, 'validating', 'another process may still be validating it');
      assert.equal((await h.storage.list(`datasets/${live}/`)).length, 1);
    } finally {
      await restarted.close();
    }
    await h.db.dataset.deleteMany({ where: { id: { in: [dead, live] } } });
    await h.storage.deletePrefix(`datasets/${live}/`);
  });

  it('a graceful shutdown fails the registrations it was running and deletes their objects', async () => {
    const id = randomUUID();
    await validatingRow(id, new Date());
    const other = await buildApp(h.config, { logger: false });
    await other.ready();
    let written!: () => void;
    const wrote = new Promise<void>((r) => (written = r));
    other.datasetService.validator.start(id, async (_id, signal) => {
      await h.storage.put(`datasets/${id}/shard-00000.u8`, new Uint8Array(64));
      written();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      throw signal.reason;
    });
    await wrote;
    await other.close();
    const row = await h.db.dataset.findUniqueOrThrow({ where: { id } });
    assert.equal(row.status, 'failed');
    assert.equal((row.error as { code: string }).code, 'registration_interrupted');
    assert.deepEqual(await h.storage.list(`datasets/${id}/`), []);
    await h.db.dataset.delete({ where: { id } });
  });
});
