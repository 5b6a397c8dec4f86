// Picks the TensorFlow.js backend once per process. TF_BACKEND=auto takes native
// TensorFlow when `npm run native:install` has put it in TF_NATIVE_DIR (on a GPU
// when TensorFlow finds one), else wasm, else pure-JS cpu. A forced TF_BACKEND
// that cannot be had is refused, with the reason.
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import './normalization-layer.ts';
import './keras-ops.ts';
import { DEFAULT_NATIVE_DIR, type TfBackendChoice } from '../config.ts';
import { applyTfEnvironment } from '../config/tf-env.ts';
import { nativeLayout, readStamp } from './native-layout.ts';
import { registerNativeKernels } from './native-kernels/index.ts';
import { registerWasmGradKernels } from './wasm-kernels/index.ts';

export { tf };

export type BackendKind = Exclude<TfBackendChoice, 'auto'>;

export interface BackendInfo {
  /** The tfjs backend name: tensorflow, webgpu, wasm or cpu. */
  name: string;
  /** What runs: tensorflow-gpu (native, TensorFlow placed ops on a GPU), tensorflow, webgpu, wasm or cpu. */
  kind: BackendKind;
  /** With TF_BACKEND=auto: why the backends before it were passed over. */
  skipped?: string[];
}

/** The parts of the config that decide how native TensorFlow loads. */
export interface NativeOptions {
  tfNativeDir: string;
  tfGpuAllowGrowth: boolean;
  /** TensorFlow's thread pools; unset: TensorFlow's own defaults (one thread per core for each). */
  tfIntraOpThreads?: number;
  tfInterOpThreads?: number;
}

const DEFAULT_NATIVE: NativeOptions = { tfNativeDir: DEFAULT_NATIVE_DIR, tfGpuAllowGrowth: true };

/** A backend this install or machine cannot give; the message says why. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

let chosen: Promise<BackendInfo> | undefined;

// Variables, not literals: these packages are optional and absent from most installs.
const WEBGPU_BACKEND = '@tensorflow/tfjs-backend-webgpu';
const DAWN = 'webgpu';

/** Loads the addon from TF_NATIVE_DIR; says whether TensorFlow found a GPU to run on. */
async function loadNative(opts: NativeOptions, hideGpus: boolean): Promise<boolean> {
  const layout = nativeLayout(opts.tfNativeDir);
  if (!readStamp(layout)) throw new BackendUnavailableError(`native TensorFlow is not installed in ${layout.dir} (npm run native:install puts it there)`);
  applyTfEnvironment({ ...opts, hideGpus });
  try {
    await import(pathToFileURL(layout.entry).href);
  } catch (err) {
    throw new BackendUnavailableError(`native TensorFlow in ${layout.dir} failed to load (run npm run native:install again): ${(err as Error).message}`);
  }
  if (!(await tf.setBackend('tensorflow'))) throw new BackendUnavailableError('the tensorflow backend failed to start');
  // tfjs's generic gradients run as many small ops; TensorFlow has fused ones.
  registerNativeKernels();
  // tfjs-node runs every op on the first GPU TensorFlow lists, if it lists one.
  return (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
}

async function loadWasm(): Promise<void> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailableError(`@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}`);
  }
  if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError('the wasm backend failed to start');
  // The wasm backend lacks (or gets wrong) kernels that training needs.
  registerWasmGradKernels();
}

let webgpuBackend: () => Promise<unknown> = () => import(WEBGPU_BACKEND);

/** Where @tensorflow/tfjs-backend-webgpu comes from: a bundle brings its own (npm run gpu-check:bundle). */
export function loadWebgpuBackendWith(load: () => Promise<unknown>): void {
  webgpuBackend = load;
}

/** WebGPU in Node: Dawn (the `webgpu` npm package, which needs a Vulkan driver) provides navigator.gpu. */
async function loadWebgpu(): Promise<void> {
  try {
    const dawn = (await import(DAWN)) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
    // The backend registers itself on import only if navigator.gpu is there by then.
    await webgpuBackend();
  } catch (err) {
    throw new BackendUnavailableError(`WebGPU needs the packages ${DAWN} and ${WEBGPU_BACKEND}: ${(err as Error).message}`);
  }
  if (!(await tf.setBackend('webgpu'))) throw new BackendUnavailableError('no WebGPU adapter (Dawn needs a Vulkan driver and a GPU)');
}

async function activate(kind: BackendKind, opts: NativeOptions): Promise<void> {
  switch (kind) {
    case 'tensorflow-gpu':
      if (!(await loadNative(opts, false))) {
        throw new BackendUnavailableError('native TensorFlow loaded but found no GPU (a CPU-only wheel, no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)');
      }
      return;
    case 'tensorflow':
      // Native on the CPU, as asked, even where a GPU build could see a GPU.
      await loadNative(opts, true);
      return;
    case 'webgpu':
      return loadWebgpu();
    case 'wasm':
      return loadWasm();
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('the cpu backend failed to start');
  }
}

async function pickAuto(opts: NativeOptions): Promise<BackendInfo> {
  const skipped: string[] = [];
  try {
    const gpu = await loadNative(opts, false);
    return { name: tf.getBackend(), kind: gpu ? 'tensorflow-gpu' : 'tensorflow' };
  } catch (err) {
    skipped.push(`tensorflow: ${(err as Error).message}`);
  }
  // WebGPU is opt-in (TF_BACKEND=webgpu): in auto mode it would load a GPU stack nobody asked for.
  for (const kind of ['wasm', 'cpu'] as const) {
    try {
      await activate(kind, opts);
      return { name: tf.getBackend(), kind, skipped };
    } catch (err) {
      skipped.push(`${kind}: ${(err as Error).message}`);
    }
  }
  throw new BackendUnavailableError(`no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

async function pick(choice: TfBackendChoice, opts: NativeOptions): Promise<BackendInfo> {
  if (choice === 'auto') {
    const info = await pickAuto(opts);
    await tf.ready();
    return info;
  }
  try {
    await activate(choice, opts);
  } catch (err) {
    throw new BackendUnavailableError(`TF_BACKEND=${choice} is not available: ${(err as Error).message}`);
  }
  await tf.ready();
  return { name: tf.getBackend(), kind: choice };
}

export function initBackend(choice: TfBackendChoice, opts: NativeOptions = DEFAULT_NATIVE): Promise<BackendInfo> {
  chosen ??= pick(choice, opts).catch((err) => {
    chosen = undefined; // a failed choice may be followed by another
    throw err;
  });
  return chosen;
}
