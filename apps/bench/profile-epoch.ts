// `npm run profile:epoch`: where one training epoch of the benchmark's conv net
// (pretraining on MNIST digits 0-4, batch 128, Adadelta) spends its time on the
// current backend. One epoch plain (the wall time), then one under tf.profile:
// every kernel's own time (tfjs-node runs kernels synchronously, so it is the
// native op's wall time), ops per step, and what is left for JavaScript.
// For a JS-side breakdown run it under `node --cpu-prof --import tsx`.
//
//   TF_BACKEND=tensorflow npm run profile:epoch -- [--limit 7680] [--top 15]
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import { DEFAULT_HYPERPARAMETERS } from '../shared/jobs/spec.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { buildModel } from '../worker/src/pipeline/build.ts';
import { withSeededRandom } from '../worker/src/pipeline/seed.ts';
import { train } from '../worker/src/pipeline/train.ts';
import { CLASSIFIER, FEATURES } from './recipe.ts';

const { values } = parseArgs({ options: { limit: { type: 'string', default: '7680' }, top: { type: 'string', default: '15' } } });
const BATCH = 128;

const config = loadConfig();
const backend = await initBackend(config.tfBackend, config);
const { pixels, digits } = await loadMnist({ split: 'train', classes: [0, 1, 2, 3, 4], count: Number(values.limit) });
const classes = Int32Array.from(digits);
const x = tf.tensor4d(pixels, [classes.length, 28, 28, 1]);
const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), 5).toFloat());
const steps = Math.ceil(classes.length / BATCH);
const hp = { ...DEFAULT_HYPERPARAMETERS, epochs: 1, batchSize: BATCH, optimizer: 'adadelta' as const, learningRate: 1, validationSplit: 0 };
const hooks = { shouldStop: () => false as const, onEpochEnd: async () => undefined };

async function epoch(): Promise<number> {
  return withSeededRandom(1, async () => {
    const parts = buildModel([28, 28, 1], [...FEATURES, ...CLASSIFIER], 5);
    const t = performance.now();
    await train(parts, { x, y, classes }, { hp, labels: ['0', '1', '2', '3', '4'] }, hooks);
    const ms = performance.now() - t;
    parts.model.dispose();
    return ms;
  });
}

await epoch(); // warm-up: kernel set-up, oneDNN primitive caches
// CPU time too: on a shared machine the wall time mostly measures the neighbours.
const cpuBefore = process.cpuUsage();
const wallMs = await epoch();
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000;
// Profiling must not read every output back to look for NaNs: that would be most of what it measured.
tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
let profiledMs = 0;
const info = await tf.profile(async () => {
  profiledMs = await epoch();
});
const byKernel = new Map<string, { count: number; ms: number }>();
let kernelMs = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  kernelMs += ms;
  const e = byKernel.get(k.name) ?? { count: 0, ms: 0 };
  e.count += 1;
  e.ms += ms;
  byKernel.set(k.name, e);
}
console.log(`backend ${backend.kind}; ${classes.length} examples, ${steps} steps of ${BATCH}`);
console.log(`epoch wall ${wallMs.toFixed(0)} ms (${((classes.length / wallMs) * 1000).toFixed(0)} ex/s), ${(wallMs / steps).toFixed(1)} ms/step; CPU ${(cpuMs / steps).toFixed(1)} ms/step (all threads)`);
console.log(`profiled epoch ${profiledMs.toFixed(0)} ms: kernels ${kernelMs.toFixed(0)} ms (${((kernelMs / profiledMs) * 100).toFixed(0)}%), the rest ${(profiledMs - kernelMs).toFixed(0)} ms; ${(info.kernels.length / steps).toFixed(0)} kernel calls/step`);
console.log('kernel                         calls/step   ms/step   share');
for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  console.log(`${name.padEnd(30)} ${(e.count / steps).toFixed(1).padStart(10)} ${(e.ms / steps).toFixed(2).padStart(9)} ${((e.ms / kernelMs) * 100).toFixed(1).padStart(6)}%`);
}
