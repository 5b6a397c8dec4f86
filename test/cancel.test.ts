// Cancelling: a queued job never starts; a running one stops at its next
// batch boundary and keeps its checkpoints. A model in use can't be deleted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

describe('cancel', () => {
  let h: Harness;
  let datasetId: string;
  let baseModelId: string;
  before(async () => {
    h = await createHarness();
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 1500 })).id;
  });
  after(() => h?.close());

  it('a queued job is cancelled at once, never starts, and frees its base model', async () => {
    const pre = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const res = await http(h.app).post(`/v1/jobs/${pre.id}/cancel`);
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.error.code, 'job_cancelled');
    assert.ok(res.body.cancelRequestedAt);

    // Now a worker arrives: the cancelled job must not run.
    await h.startWorker();
    const other = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1 }, trainDatasetId: datasetId });
    const otherDone = await waitForJob(h.app, other.id, finished);
    assert.equal(otherDone.status, 'succeeded', JSON.stringify(otherDone.error));
    baseModelId = otherDone.outputModelId;
    const cancelled = (await http(h.app).get(`/v1/jobs/${pre.id}`)).body;
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.attempts, 0);
    assert.equal(cancelled.startedAt, null);
    assert.equal((await http(h.app).get(`/v1/jobs/${pre.id}/metrics`)).body.data.length, 0);
  });

  it('a running job stops within a batch, keeps its checkpoints, and says so', async () => {
    const job = await submitJob(h.app, {
      baseModelId,
      freeze: 'none',
      hyperparameters: { epochs: 200, batchSize: 8 },
      trainDatasetId: datasetId,
    });
    // Its base model is in use while it is queued or running.
    const del = await http(h.app).delete(`/v1/models/${baseModelId}`);
    assert.equal(del.status, 409);
    assert.equal(del.body.error.code, 'model_in_use');

    const running = await waitForJob(h.app, job.id, (j) => j.status === 'running' && j.progress.epoch >= 1, 60_000);
    assert.equal(running.stage, 'train');
    const res = await http(h.app).post(`/v1/jobs/${job.id}/cancel`);
    assert.equal(res.status, 202);
    assert.ok(res.body.cancelRequestedAt);
    const done = await waitForJob(h.app, job.id, finished, 30_000);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.error.code, 'job_cancelled');
    assert.match(done.error.message, /checkpoint\(s\) are kept/);
    assert.ok(done.progress.epoch < 200);
    assert.equal(done.outputModelId, null);

    const checkpoints = (await http(h.app).get(`/v1/jobs/${job.id}/checkpoints`)).body.data;
    const metrics = (await http(h.app).get(`/v1/jobs/${job.id}/metrics`)).body.data;
    assert.ok(checkpoints.length >= 1);
    assert.equal(checkpoints.length, metrics.length);
    assert.equal(checkpoints.length, done.progress.epoch);
    for (const c of checkpoints) {
      const prefix = c.uri.replace(`s3://${h.config.s3.bucket}/`, '').replace(/model\.json$/, '');
      assert.deepEqual((await h.storage.list(prefix)).map((o) => o.key.slice(prefix.length)).sort(), ["model.json", "optimizer.bin", "state.json", "weights.bin"]);
    }

    // Cancelling again is harmless; a finished job can't be cancelled.
    assert.equal((await http(h.app).post(`/v1/jobs/${job.id}/cancel`)).status, 202);
    const succeededId = (await http(h.app).get('/v1/jobs?status=succeeded')).body.data[0].id;
    const late = await http(h.app).post(`/v1/jobs/${succeededId}/cancel`);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'job_not_cancellable');

    // No longer in use: the base model can go.
    assert.equal((await http(h.app).delete(`/v1/models/${baseModelId}`)).status, 204);
  });
});
