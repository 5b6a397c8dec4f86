// Which backend, and which device, a training process started with this
// environment really gets, found out without loading TensorFlow here: a short
// child process picks the backend as the sandboxes do and runs one matmul. For
// native TensorFlow the device is the one TensorFlow says it executed the
// matmul on (its eager placement log), not what the driver claims.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendInfo } from './tf.ts';

const CHILD = fileURLToPath(new URL('./backend-probe-child.ts', import.meta.url));
/** TensorFlow on a GPU may take a while to load CUDA and cuDNN. */
const PROBE_TIMEOUT_MS = 180_000;

export interface ProbeResult {
  backend: BackendInfo;
  /** Where the matmul ran: TensorFlow's device name for native, else the backend's own words. */
  device: string;
}

export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** The device from TensorFlow's eager execution log (TF_CPP_VMODULE=execute=1). */
export function matmulDevice(stderr: string): string | undefined {
  const runs = [...stderr.matchAll(/Executing op \w*MatMul\w* in device (\S+)/g)];
  return runs.at(-1)?.[1];
}

type Env = Record<string, string | undefined>;

export function probeBackend(env: Env): Promise<ProbeResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    // INFO level and the eager executor's placement lines; the child's only op is the matmul.
    env: { ...env, TF_CPP_MIN_LOG_LEVEL: '0', TF_CPP_VMODULE: 'execute=1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let result: { ok: boolean; error?: string; backend?: BackendInfo; device?: string; matmul?: number[] } | undefined;
      try {
        result = JSON.parse(line);
      } catch {
        // Reported below.
      }
      if (!result) return reject(new ProbeError(`the backend probe died (${code ?? signal}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
      if (!result.ok || !result.backend) return reject(new ProbeError(result.error ?? 'the backend probe failed'));
      // [[1,2],[3,4]]²: a backend that computes wrongly is no backend.
      if (JSON.stringify(result.matmul) !== '[7,10,15,22]') return reject(new ProbeError(`the ${result.backend.kind} backend computed a wrong matmul: ${JSON.stringify(result.matmul)}`));
      const native = result.backend.name === 'tensorflow';
      const device = native ? matmulDevice(stderr) ?? `${result.device} (TensorFlow logged no placement)` : result.device ?? 'unknown';
      resolve({ backend: result.backend, device });
    });
  });
}
