// `npm run demo [-- --api http://host:port]`: the MNIST transfer story through
// the public API of a running service (start it with `npm start`): pretrain a
// small model on digits 0-4, fine-tune it on 5-9 with little data, evaluate.
import { parseArgs } from 'node:util';
import { readQuickstartKey } from './shared/auth/quickstart-key.ts';
import { loadConfig } from './shared/config.ts';

const { values } = parseArgs({ options: { api: { type: 'string', default: 'http://127.0.0.1:3000' }, 'key-file': { type: 'string', default: loadConfig().quickstartKeyFile } } });
const api = values.api!.replace(/\/$/, '');
const key = await readQuickstartKey(values['key-file']);
if (!key) throw new Error(`No API key in ${values['key-file']}: start the service with npm start first (it writes one)`);

async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(api + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
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

const low = await mnist('digits 0-4', 'train', [0, 1, 2, 3, 4], 12_000);
const lowTest = await mnist('digits 0-4 test', 'test', [0, 1, 2, 3, 4], 1_000);
const high = await mnist('digits 5-9 (little data)', 'train', [5, 6, 7, 8, 9], 300);
const highTest = await mnist('digits 5-9 test', 'test', [5, 6, 7, 8, 9], 1_000);

// The Keras mnist_transfer_cnn recipe: a conv feature extractor, then a dense classifier.
const pre = await call('POST', '/v1/jobs', {
  type: 'pretrain',
  name: 'mnist 0-4 base',
  architecture: [
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'dropout', rate: 0.25 },
    { type: 'flatten', name: 'features' },
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 5, activation: 'softmax' },
  ],
  hyperparameters: { epochs: 3, batchSize: 128, optimizer: 'adadelta', learningRate: 1 },
  trainDatasetId: low.id,
  testDatasetId: lowTest.id,
});
const preDone = await follow(pre.id, 'pretrain');

// Fine-tune on 300 examples of new digits, and let the service train the same model from scratch beside it.
const ft = await call('POST', '/v1/jobs', {
  name: 'mnist 5-9 fine-tuned',
  baseModelId: preDone.outputModelId,
  cutLayer: 'features',
  head: [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: 5, activation: 'softmax' }],
  hyperparameters: { epochs: 10, batchSize: 32, optimizer: 'adadelta', learningRate: 1 },
  trainDatasetId: high.id,
  testDatasetId: highTest.id,
  compareWithScratch: true,
  targetValAccuracy: 0.9,
});
const ftDone = await follow(ft.id, 'fine-tune');

console.log('\njob          | test accuracy | test loss | model');
for (const [name, j] of [['pretrain 0-4', preDone], ['finetune 5-9', ftDone]] as const) {
  console.log(`${name.padEnd(12)} | ${j.evaluation.accuracy.toFixed(4).padStart(13)} | ${j.evaluation.loss.toFixed(4).padStart(9)} | ${j.outputModelId}`);
}
const cmp = ftDone.evaluation.comparison;
const ms = (v: number) => `${(v / 1000).toFixed(1)} s`;
console.log('\n5-9 with 300 examples | test accuracy | wall time | epochs to 90% val accuracy');
for (const [name, side] of [['fine-tuned', cmp.fineTuned], ['from scratch', cmp.scratch]] as const) {
  console.log(`${name.padEnd(21)} | ${side.testAccuracy.toFixed(4).padStart(13)} | ${ms(side.wallTimeMs).padStart(9)} | ${side.epochsToTarget ?? 'not reached'}`);
}
const link = await call('POST', `/v1/models/${ftDone.outputModelId}/download-url`);
console.log(`\nLoad it anywhere for the next few minutes, no key needed: tf.loadLayersModel('${api}${link.url}')`);
