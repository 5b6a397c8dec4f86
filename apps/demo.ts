// `npm run demo [-- --api http://host:port]`: the MNIST transfer story through
// the public API of a running service (start it with `npm start`): pretrain a
// small model on digits 0-4, fine-tune it on 5-9 with little data, evaluate.
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { api: { type: 'string', default: 'http://127.0.0.1:3000' } } });
const api = values.api!.replace(/\/$/, '');

async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(api + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${JSON.stringify(json)}`);
  return json as T;
}

async function follow(id: string, label: string) {
  let last = '';
  for (;;) {
    const job = await call('GET', `/v1/jobs/${id}`);
    const line = `${label}: ${job.status}${job.stage ? ` (${job.stage})` : ''} epoch ${job.progress.epoch}/${job.progress.totalEpochs}` +
      (job.latestMetrics ? ` loss ${job.latestMetrics.loss.toFixed(4)} val_acc ${job.latestMetrics.valAccuracy?.toFixed(4) ?? '-'}` : '');
    if (line !== last) console.log(line);
    last = line;
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      if (job.status !== 'succeeded') throw new Error(`${label} ${job.status}: ${JSON.stringify(job.error)}`);
      return job;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const mnist = (name: string, split: string, classes: number[], count: number) =>
  call('POST', '/v1/datasets', { name, source: { type: 'mnist', split, classes, count } });

const low = await mnist('digits 0-4', 'train', [0, 1, 2, 3, 4], 10_000);
const lowTest = await mnist('digits 0-4 test', 'test', [0, 1, 2, 3, 4], 2_000);
const high = await mnist('digits 5-9 (little data)', 'train', [5, 6, 7, 8, 9], 500);
const highTest = await mnist('digits 5-9 test', 'test', [5, 6, 7, 8, 9], 2_000);

const pre = await call('POST', '/v1/jobs', {
  type: 'pretrain',
  name: 'mnist 0-4 base',
  architecture: [
    { type: 'flatten' },
    { type: 'dense', units: 128, activation: 'relu', name: 'features' },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 5, activation: 'softmax', name: 'output' },
  ],
  hyperparameters: { epochs: 3, batchSize: 64, learningRate: 0.001 },
  trainDatasetId: low.id,
  testDatasetId: lowTest.id,
});
const preDone = await follow(pre.id, 'pretrain');

const ft = await call('POST', '/v1/jobs', {
  name: 'mnist 5-9 fine-tuned',
  baseModelId: preDone.outputModelId,
  head: [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 5, activation: 'softmax' }],
  hyperparameters: { epochs: 10, batchSize: 32, learningRate: 0.003 },
  trainDatasetId: high.id,
  testDatasetId: highTest.id,
});
const ftDone = await follow(ft.id, 'fine-tune');

console.log('\njob          | test accuracy | test loss | model');
for (const [name, j] of [['pretrain 0-4', preDone], ['finetune 5-9', ftDone]] as const) {
  console.log(`${name.padEnd(12)} | ${j.evaluation.accuracy.toFixed(4).padStart(13)} | ${j.evaluation.loss.toFixed(4).padStart(9)} | ${j.outputModelId}`);
}
console.log(`\nLoad it anywhere: tf.loadLayersModel('${api}/v1/models/${ftDone.outputModelId}/model.json')`);
