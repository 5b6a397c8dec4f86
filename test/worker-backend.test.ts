// A worker process never loads TensorFlow itself: only its training processes
// (sandboxes) do. It still reports, from its first heartbeat, the backend and
// device they run on; each job records the backend that ran it. On native
// TensorFlow the library's presence in each process's memory map is the proof.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_NATIVE_DIR } from '../apps/shared/config.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { testBackendChoice } from './helpers/backend.ts';
import { spawnWorker, type WorkerProcess } from './helpers/processes.ts';

const native = testBackendChoice === 'tensorflow' || testBackendChoice === 'tensorflow-gpu';

async function mapsTensorflow(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/maps`, 'utf8')).includes('libtensorflow_cc.so');
}

async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

describe(`worker on ${testBackendChoice}: the parent reports, the sandbox trains`, () => {
  let h: Harness;
  let worker: WorkerProcess;
  before(async () => {
    h = await createHarness();
    worker = await spawnWorker(h.config, { TF_NATIVE_DIR: DEFAULT_NATIVE_DIR });
  });
  after(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await h?.close();
  });

  it('readiness lists the worker with its backend and device before any job ran; the job records the backend that ran it', async () => {
    const ready = await http(h.app).get('/readyz');
    assert.equal(ready.body.workers.length, 1);
    const [w] = ready.body.workers;
    assert.equal(w.pid, worker.child.pid);
    assert.equal(w.backend, testBackendChoice);
    if (native) assert.match(w.device, /^\/job:localhost\/replica:0\/task:0\/device:(CPU|GPU):\d+$/, 'the device TensorFlow ran the matmul on');
    else assert.ok(w.device, 'a device, in words');

    const digits = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1], count: 100 });
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(2), hyperparameters: { epochs: 1, batchSize: 20 }, trainDatasetId: digits.id });
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.backend, testBackendChoice);
  });

  it('only the training process has TensorFlow in memory', { skip: native ? false : 'native backends only: wasm maps no library' }, async () => {
    const pid = worker.child.pid!;
    const sandboxes = await childPids(pid);
    assert.ok(sandboxes.length >= 1, 'the sandbox that ran the job is still up for the next one');
    assert.equal(await mapsTensorflow(pid), false, 'the worker parent must not load TensorFlow');
    assert.ok((await Promise.all(sandboxes.map(mapsTensorflow))).some(Boolean), 'a sandbox has it');
  });
});
