// One run of `npm run gpu-check`, in its own process: the backend, where it
// computes (and whether that is a GPU), and the benchmark's conv net trained
// for `steps` batches of 128 on random images, examples/s per epoch.
import type { TfBackendChoice } from '../shared/config.ts';
import { envWith, loadConfig } from '../shared/config.ts';
import { DEFAULT_HYPERPARAMETERS } from '../shared/jobs/spec.ts';
import { probeBackend } from '../shared/ml/backend-probe.ts';
import { describeDevice } from '../shared/ml/device.ts';
import { initBackend, tf, type BackendInfo } from '../shared/ml/tf.ts';
import { buildModel } from '../worker/src/pipeline/build.ts';
import { train } from '../worker/src/pipeline/train.ts';
import { CLASSIFIER, FEATURES } from './recipe.ts';

export type RunResult =
  | { ok: true; kind: string; device: string; onGpu: boolean; examplesPerSec: number; byEpoch: number[]; steps: number; loss: number }
  | { ok: false; kind: string; error: string };

const EPOCHS = 3;
const BATCH = 128;

interface AdapterInfo { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
interface Adapter { info?: AdapterInfo; isFallbackAdapter?: boolean }

/** Where the backend computes. Native: the device TensorFlow ran a matmul on. WebGPU: the adapter, unless it is a software one. */
async function whereItRuns(backend: BackendInfo, kind: string): Promise<{ device: string; onGpu: boolean }> {
  if (backend.name === 'tensorflow') {
    const { device } = await probeBackend(envWith({ TF_BACKEND: kind }));
    return { device, onGpu: /\/device:GPU:\d+$/.test(device) };
  }
  if (backend.name === 'webgpu') {
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(o: object): Promise<Adapter | null> } } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
    const info = adapter?.info ?? {};
    const words = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
    const software = adapter?.isFallbackAdapter || info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(words);
    return { device: `WebGPU adapter: ${words}${software ? ' (software)' : ''}`, onGpu: !!adapter && !software };
  }
  return { device: await describeDevice(), onGpu: false };
}

function convnet() {
  return buildModel([28, 28, 1], [...FEATURES, ...CLASSIFIER], 5);
}

export async function runOnce(kind: string, steps: number): Promise<RunResult> {
  try {
    const config = loadConfig();
    const backend = await initBackend(kind as TfBackendChoice, config);
    const where = await whereItRuns(backend, kind);
    const n = Math.ceil(steps / EPOCHS) * BATCH;
    const classes = Int32Array.from({ length: n }, (_, i) => i % 5);
    const x = tf.randomUniform([n, 28, 28, 1]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), 5).toFloat());
    const byEpoch: number[] = [];
    let loss = NaN;
    await train(convnet(), { x, y, classes }, { hp: { ...DEFAULT_HYPERPARAMETERS, epochs: EPOCHS, batchSize: BATCH, optimizer: 'adadelta', learningRate: 1, validationSplit: 0 }, labels: ['0', '1', '2', '3', '4'] }, {
      shouldStop: () => false,
      onEpochEnd: async (r) => {
        byEpoch.push(r.examplesPerSec);
        loss = r.loss;
      },
    });
    // The first epoch includes kernel compilation and warm-up.
    const steady = byEpoch.slice(1).sort((a, b) => a - b);
    return { ok: true, kind: backend.kind, ...where, examplesPerSec: steady[Math.floor(steady.length / 2)], byEpoch, steps: (n / BATCH) * EPOCHS, loss };
  } catch (err) {
    return { ok: false, kind, error: (err as Error).message };
  }
}
