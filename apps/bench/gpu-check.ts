// `npm run gpu-check`: the check to run on a GPU machine. Trains the benchmark's
// conv net briefly on whatever GPU backend it finds (tfjs-node-gpu, then WebGPU)
// and prints the backend, the device and examples/s. Exits 1 when there is none.
//
//   npm run gpu-check -- [--backend tensorflow-gpu|webgpu] [--examples 8192] [--epochs 3]
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { TfBackendChoice } from '../shared/config.ts';
import { DEFAULT_HYPERPARAMETERS } from '../shared/jobs/spec.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { buildModel } from '../worker/src/pipeline/build.ts';
import { train } from '../worker/src/pipeline/train.ts';

const { values } = parseArgs({ options: { backend: { type: 'string' }, examples: { type: 'string', default: '8192' }, epochs: { type: 'string', default: '3' } } });
const n = Number(values.examples);

function device(kind: string): string {
  if (kind === 'tensorflow-gpu') {
    try {
      return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
    } catch {
      return 'NVIDIA GPU (nvidia-smi unavailable)';
    }
  }
  const adapter = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string; description?: string } }).adapterInfo;
  return adapter ? [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ') : 'unknown';
}

let backend;
for (const choice of (values.backend ? [values.backend] : ['tensorflow-gpu', 'webgpu']) as TfBackendChoice[]) {
  backend = await initBackend(choice).catch(() => undefined);
  if (backend) break;
}
if (!backend) {
  console.error('No GPU backend: install @tensorflow/tfjs-node-gpu (Dockerfile.gpu), or @tensorflow/tfjs-backend-webgpu and webgpu with a Vulkan driver.');
  process.exit(1);
}

const parts = buildModel([28, 28, 1], [
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
  { type: 'maxPooling2d', poolSize: 2 },
  { type: 'dropout', rate: 0.25 },
  { type: 'flatten' },
  { type: 'dense', units: 128, activation: 'relu' },
  { type: 'dropout', rate: 0.5 },
  { type: 'dense', units: 5, activation: 'softmax' },
], 5);
const classes = Int32Array.from({ length: n }, (_, i) => i % 5);
const x = tf.randomUniform([n, 28, 28, 1]);
const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), 5).toFloat());
const epochs: number[] = [];
await train(parts, { x, y, classes }, { hp: { ...DEFAULT_HYPERPARAMETERS, epochs: Number(values.epochs), batchSize: 128, optimizer: 'adadelta', learningRate: 1, validationSplit: 0 }, labels: ['0', '1', '2', '3', '4'] }, {
  shouldStop: () => false,
  onEpochEnd: async (r) => void epochs.push(r.examplesPerSec),
});
// The first epoch includes kernel compilation and warm-up.
const steady = epochs.length > 1 ? epochs.slice(1) : epochs;
console.log(`backend ${backend.kind} (${backend.name})`);
console.log(`device ${device(backend.kind)}`);
console.log(`examples/s by epoch ${epochs.map((e) => e.toFixed(0)).join(', ')}; steady median ${[...steady].sort((a, b) => a - b)[Math.floor(steady.length / 2)].toFixed(0)}`);
