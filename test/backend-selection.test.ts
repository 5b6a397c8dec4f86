// Which backend a training process gets. Each case runs in its own child
// process (probeBackend, as the worker does): a process picks once, and native
// TensorFlow cannot be unloaded. A stand-in native install (a package that
// registers a 'tensorflow' backend on the cpu kernels and says it sees a GPU
// when asked to) makes the order testable on any machine; the real install is
// tested too where `npm run native:install` has run.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configToEnv, DEFAULT_NATIVE_DIR, loadConfig } from '../apps/shared/config.ts';
import { matmulDevice, probeBackend } from '../apps/shared/ml/backend-probe.ts';
import { nativeLayout, readStamp } from '../apps/shared/ml/native-layout.ts';

const require = createRequire(import.meta.url);
const realInstall = readStamp(nativeLayout(DEFAULT_NATIVE_DIR)) !== undefined;

/** tfjs-node's shape, minus TensorFlow: the cpu kernels under the name 'tensorflow'. */
function standInEntry(): string {
  const tfjs = require.resolve('@tensorflow/tfjs');
  const cpu = require.resolve('@tensorflow/tfjs-backend-cpu');
  return `const tf = require(${JSON.stringify(tfjs)});
const { MathBackendCPU } = require(${JSON.stringify(cpu)});
// Like TensorFlow, it sees a GPU unless CUDA_VISIBLE_DEVICES hides it.
const gpu = process.env.STAND_IN_GPU === '1' && process.env.CUDA_VISIBLE_DEVICES !== '-1';
for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
tf.registerBackend('tensorflow', () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: gpu }), 3);
`;
}

async function standInInstall(dir: string, withPackage = true): Promise<void> {
  const layout = nativeLayout(dir);
  await mkdir(path.dirname(layout.entry), { recursive: true });
  if (withPackage) await writeFile(layout.entry, standInEntry());
  await writeFile(layout.stamp, JSON.stringify({ tfjsNode: '4.22.0' }));
}

const probe = (env: Record<string, string>) => probeBackend({ ...configToEnv(loadConfig({})), ...env });

describe('backend selection', () => {
  let empty: string;
  let standIn: string;
  let broken: string;
  before(async () => {
    empty = await mkdtemp(path.join(tmpdir(), 'native-none-'));
    standIn = await mkdtemp(path.join(tmpdir(), 'native-standin-'));
    broken = await mkdtemp(path.join(tmpdir(), 'native-broken-'));
    await standInInstall(standIn);
    await standInInstall(broken, false);
  });
  after(async () => {
    for (const d of [empty, standIn, broken]) await rm(d, { recursive: true, force: true });
  });

  it('auto: native first, on a GPU when TensorFlow sees one', async () => {
    const cpu = await probe({ TF_BACKEND: 'auto', TF_NATIVE_DIR: standIn });
    assert.equal(cpu.backend.kind, 'tensorflow');
    assert.equal(cpu.backend.name, 'tensorflow');
    const gpu = await probe({ TF_BACKEND: 'auto', TF_NATIVE_DIR: standIn, STAND_IN_GPU: '1' });
    assert.equal(gpu.backend.kind, 'tensorflow-gpu');
  });

  it('auto: wasm when native is not installed, or is broken, and says why it passed it over', async () => {
    const none = await probe({ TF_BACKEND: 'auto', TF_NATIVE_DIR: empty });
    assert.equal(none.backend.kind, 'wasm');
    assert.match(none.backend.skipped?.[0] ?? '', /tensorflow: native TensorFlow is not installed in .*native:install/);
    assert.equal(none.device, 'CPU (WebAssembly, XNNPACK)');
    const bad = await probe({ TF_BACKEND: 'auto', TF_NATIVE_DIR: broken });
    assert.equal(bad.backend.kind, 'wasm');
    assert.match(bad.backend.skipped?.[0] ?? '', /failed to load/);
  });

  it('a forced backend that cannot be had is refused, with the reason', async () => {
    await assert.rejects(probe({ TF_BACKEND: 'tensorflow', TF_NATIVE_DIR: empty }), /TF_BACKEND=tensorflow is not available: native TensorFlow is not installed in .*npm run native:install/);
    await assert.rejects(probe({ TF_BACKEND: 'tensorflow-gpu', TF_NATIVE_DIR: empty }), /TF_BACKEND=tensorflow-gpu is not available/);
    await assert.rejects(probe({ TF_BACKEND: 'tensorflow', TF_NATIVE_DIR: broken }), /TF_BACKEND=tensorflow is not available: .*failed to load/);
    await assert.rejects(probe({ TF_BACKEND: 'tensorflow-gpu', TF_NATIVE_DIR: standIn }), /TF_BACKEND=tensorflow-gpu is not available: native TensorFlow loaded but found no GPU/);
    await assert.rejects(probe({ TF_BACKEND: 'webgpu' }), /TF_BACKEND=webgpu is not available: WebGPU needs the packages webgpu and @tensorflow\/tfjs-backend-webgpu/);
  });

  it('forced tensorflow stays on the CPU even where TensorFlow would see a GPU; forced wasm and cpu are what they say', async () => {
    const cpuOnly = await probe({ TF_BACKEND: 'tensorflow', TF_NATIVE_DIR: standIn, STAND_IN_GPU: '1' });
    assert.equal(cpuOnly.backend.kind, 'tensorflow');
    // The stand-in logs no placement; the device is what it lists, and the GPU must have been hidden from it.
    assert.match(cpuOnly.device, /^CPU /);
    const gpu = await probe({ TF_BACKEND: 'tensorflow-gpu', TF_NATIVE_DIR: standIn, STAND_IN_GPU: '1' });
    assert.equal(gpu.backend.kind, 'tensorflow-gpu');
    assert.match(gpu.device, /^GPU /);
    assert.equal((await probe({ TF_BACKEND: 'wasm', TF_NATIVE_DIR: standIn })).backend.kind, 'wasm');
    const cpu = await probe({ TF_BACKEND: 'cpu' });
    assert.equal(cpu.backend.kind, 'cpu');
    assert.equal(cpu.device, 'CPU (JavaScript)');
  });

  it('training processes get memory growth on GPUs unless told otherwise', () => {
    assert.equal(configToEnv(loadConfig({})).TF_FORCE_GPU_ALLOW_GROWTH, 'true');
    assert.equal(configToEnv(loadConfig({ TF_FORCE_GPU_ALLOW_GROWTH: 'false' })).TF_FORCE_GPU_ALLOW_GROWTH, 'false');
  });

  it('reads the device from TensorFlow\'s placement log', () => {
    const log = 'I0000 execute.cc:1250] Placer place op [BatchMatMulV2] on device: /job:localhost/replica:0/task:0/device:CPU:0\n'
      + 'I0000 execute.cc:1775] Executing op BatchMatMulV2 in device /job:localhost/replica:0/task:0/device:GPU:0\n';
    assert.equal(matmulDevice(log), '/job:localhost/replica:0/task:0/device:GPU:0');
    assert.equal(matmulDevice('nothing here'), undefined);
  });

  it('the real install: auto picks native TensorFlow, which says it ran the matmul on the CPU; tensorflow-gpu is refused here', { skip: realInstall ? false : 'native TensorFlow is not installed (npm run native:install)' }, async () => {
    const auto = await probe({ TF_BACKEND: 'auto', TF_NATIVE_DIR: DEFAULT_NATIVE_DIR });
    assert.equal(auto.backend.kind, 'tensorflow');
    assert.match(auto.device, /^\/job:localhost\/replica:0\/task:0\/device:CPU:0$/);
    await assert.rejects(probe({ TF_BACKEND: 'tensorflow-gpu', TF_NATIVE_DIR: DEFAULT_NATIVE_DIR }), /found no GPU/);
  });
});
