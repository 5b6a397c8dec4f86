// Picks the TensorFlow.js backend once per process, in the order the service
// promises: native GPU, native CPU, wasm, then pure-JS cpu. TF_BACKEND forces one.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { TfBackendChoice } from '../config.ts';
import { registerWasmGradKernels } from './wasm-kernels/index.ts';

export { tf };

export interface BackendInfo {
  /** The tfjs backend name: tensorflow, wasm or cpu. */
  name: string;
  /** Which choice produced it: tensorflow-gpu, tensorflow, wasm or cpu. */
  kind: Exclude<TfBackendChoice, 'auto'>;
}

let chosen: Promise<BackendInfo> | undefined;

// Variables, not literals: these packages are optional and absent from most installs.
const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const NODE_CPU = '@tensorflow/tfjs-node';
const WEBGPU_BACKEND = '@tensorflow/tfjs-backend-webgpu';
const DAWN = 'webgpu';

async function tryNative(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return false;
    // The wasm backend lacks (or gets wrong) kernels that training needs.
    registerWasmGradKernels();
    return true;
  } catch {
    return false;
  }
}

/** WebGPU in Node: Dawn (the `webgpu` npm package, which needs a Vulkan driver) provides navigator.gpu. */
async function tryWebgpu(): Promise<boolean> {
  try {
    const dawn = (await import(DAWN)) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
    await import(WEBGPU_BACKEND);
    return await tf.setBackend('webgpu');
  } catch {
    return false;
  }
}

function hasNvidiaGpu(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia/version');
}

async function pick(choice: TfBackendChoice): Promise<BackendInfo> {
  const attempts: Array<[BackendInfo['kind'], () => Promise<boolean>]> = [
    ['tensorflow-gpu', async () => hasNvidiaGpu() && tryNative(NODE_GPU)],
    ['tensorflow', () => tryNative(NODE_CPU)],
    ['webgpu', tryWebgpu],
    ['wasm', tryWasm],
    ['cpu', () => tf.setBackend('cpu')],
  ];
  // WebGPU is opt-in (TF_BACKEND=webgpu): in auto mode it would load a GPU stack nobody asked for.
  const candidates = choice === 'auto' ? attempts.filter(([kind]) => kind !== 'webgpu') : attempts.filter(([kind]) => kind === choice);
  for (const [kind, attempt] of candidates) {
    if (await attempt()) {
      await tf.ready();
      return { name: tf.getBackend(), kind };
    }
  }
  throw new Error(`TensorFlow.js backend "${choice}" is not available in this install`);
}

export function initBackend(choice: TfBackendChoice): Promise<BackendInfo> {
  chosen ??= pick(choice).catch((err) => {
    chosen = undefined; // a failed choice may be followed by another
    throw err;
  });
  return chosen;
}
