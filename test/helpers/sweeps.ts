// Shared by the sweep tests: polling a sweep, and a tiny frozen base
// (an MLP pretrained on 300 digits 0-4) with 300 digits 5-9 to sweep on.
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { createRedis, type JobPayload } from '../../apps/shared/queue/contract.ts';
import { advanceSweep } from '../../apps/shared/sweeps/advance.ts';
import type { Harness } from './harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './api.ts';

export type Sweep = Record<string, any>;

export async function waitForSweep(h: Harness, id: string, done = (s: Sweep) => s.status !== 'running', timeoutMs = 300_000): Promise<Sweep> {
  const deadline = Date.now() + timeoutMs;
  let last: Sweep | undefined;
  while (Date.now() < deadline) {
    const res = await http(h.app).get(`/v1/sweeps/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    last = res.body;
    if (done(last!)) return last!;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`sweep ${id} did not reach the expected state; last seen ${JSON.stringify(last)}`);
}

export async function sweepDatasets(h: Harness): Promise<{ low: string; high: string }> {
  const low = await createDataset(h.app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 300 });
  const high = await createDataset(h.app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 300 });
  return { low: low.id, high: high.id };
}

/** Pretrains the tiny base on digits 0-4 (needs a worker); its model id. */
export async function frozenBase(h: Harness, low: string): Promise<string> {
  const pre = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(5), hyperparameters: { epochs: 2, learningRate: 0.01 }, trainDatasetId: low });
  const base = await waitForJob(h.app, pre.id, finished, 180_000);
  assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
  return base.outputModelId;
}

/** advanceSweep as a worker calls it, from the test. */
export async function advance(h: Harness, sweepId: string): Promise<string[]> {
  const redis = createRedis(h.config);
  const queue = new Queue<JobPayload>(h.config.queueName, { connection: redis });
  try {
    return await advanceSweep(h.db, queue, h.config, sweepId);
  } finally {
    await queue.close();
    await redis.quit();
  }
}
