// A sweep's trial on real worker processes killed with SIGKILL mid-training:
// a decision recorded before the crash (ASHA stopped the trial) holds on the
// resumed attempt (docs/sweeps.md).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { killHard, spawnWorker, type WorkerProcess } from './helpers/processes.ts';
import { frozenBase, sweepDatasets, waitForSweep } from './helpers/sweeps.ts';

const ENV = { WORKER_LOCK_DURATION_MS: '5000', JOB_LEASE_MS: '3000', RECONCILE_INTERVAL_MS: '1000', JOB_ATTEMPTS: '5', WORKER_CONCURRENCY: '1' };

describe('a sweep trial resumed after a crash', () => {
  let h: Harness;
  let baseModelId: string;
  let high: string;
  let low: string;
  const workers: WorkerProcess[] = [];
  const start = async () => {
    const w = await spawnWorker(h.config);
    workers.push(w);
    return w;
  };
  before(async () => {
    h = await createHarness({ env: ENV });
    const data = await sweepDatasets(h);
    ({ high, low } = data);
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) await killHard(w);
    await h?.close();
  });

  it('an ASHA stop recorded before the crash holds: the resumed attempt trains no further', async () => {
    const w1 = await start();
    baseModelId = await frozenBase(h, low);
    const job = { type: 'finetune', baseModelId, trainDatasetId: high, freeze: 'all', hyperparameters: { epochs: 300, validationSplit: 0.2, batchSize: 8 } };
    const body = { job, space: { learningRate: [0.01] }, parallelism: 1, earlyStopping: { minEpochs: 1, reductionFactor: 2 } };
    const posted = await http(h.app).post('/v1/sweeps').send(body);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const running = await waitForSweep(h, posted.body.id, (s) => s.leaderboard[0].epochsRun >= 2, 120_000);
    await killHard(w1);
    const jobId = running.leaderboard[0].jobId;
    // The crash came after ASHA's decision was recorded and before the job ended: the state that decision leaves.
    const { epoch } = await h.db.job.findUniqueOrThrow({ where: { id: jobId } });
    await h.db.sweepTrial.update({ where: { jobId }, data: { prunedAtEpoch: epoch } });
    await start();
    const done = await waitForSweep(h, posted.body.id, undefined, 120_000);
    const trial = done.leaderboard[0];
    assert.equal(trial.status, 'succeeded', JSON.stringify(done));
    const attempts = (await http(h.app).get(`/v1/jobs/${jobId}`)).body.attempts;
    assert.ok(attempts >= 2, `it was resumed (attempts ${attempts})`);
    assert.equal(trial.stoppedEarly, true);
    assert.equal(trial.epochsRun, epoch, `stopped at the epoch it had reached (${epoch}), not trained on to 300`);
  });
});
