// `npm run gpu-check`: proves that training runs on a GPU, and how fast. It looks
// for a GPU backend (native TensorFlow on a GPU: the device TensorFlow says it ran
// a matmul on must be a GPU; else WebGPU through Dawn: the adapter must be a real
// GPU, not a software one), trains the benchmark's conv net on it for --steps
// batches of 128, then the same on the CPU (native TensorFlow if installed, else
// wasm), and prints both examples/s. Each run is its own process: a process
// holds one backend. With no GPU it says so loudly, runs the CPU side, and exits 2.
//
//   npm run gpu-check -- [--steps 300] [--backend tensorflow-gpu|webgpu]
//   node .gpu-check/bundle/gpu-check.cjs   (the carried WebGPU bundle: npm run gpu-check:bundle)
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { nativeLayout, readStamp } from '../shared/ml/native-layout.ts';
import { runOnce, type RunResult } from './gpu-check-run.ts';

const { values } = parseArgs({ options: { run: { type: 'string' }, steps: { type: 'string', default: '300' }, backend: { type: 'string' } } });
const steps = Number(values.steps);

/** One training run in a fresh process (this same script, with --run). */
function runChild(kind: string): Promise<RunResult> {
  const args = [...process.execArgv, process.argv[1], '--run', kind, '--steps', String(steps)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as RunResult);
      } catch {
        resolve({ ok: false, kind, error: `exited ${code} without a result` });
      }
    });
  });
}

function show(label: string, r: RunResult): void {
  if (!r.ok) return void console.log(`${label.padEnd(5)} ${r.kind}: unavailable: ${r.error}`);
  console.log(`${label.padEnd(5)} ${r.kind} on ${r.device}: ${r.examplesPerSec.toFixed(0)} examples/s (steady median over ${r.steps} steps of 128; epochs ${r.byEpoch.map((e) => e.toFixed(0)).join(', ')}), final loss ${r.loss.toFixed(4)}`);
}

async function main(): Promise<number> {
  if (values.run) {
    process.stdout.write(`${JSON.stringify(await runOnce(values.run, steps))}\n`);
    return 0;
  }
  const config = loadConfig();
  const native = readStamp(nativeLayout(config.tfNativeDir)) !== undefined;
  const candidates = values.backend ? [values.backend] : [...(native ? ['tensorflow-gpu'] : []), 'webgpu'];
  const tried: RunResult[] = [];
  let gpu: Extract<RunResult, { ok: true }> | undefined;
  for (const kind of candidates) {
    const r = await runChild(kind);
    tried.push(r);
    if (r.ok && r.onGpu) {
      gpu = r;
      break;
    }
  }
  const cpu = await runChild(native ? 'tensorflow' : 'wasm');
  if (!gpu) {
    console.log('################################################################');
    console.log('## NO GPU FOUND: nothing ran on a GPU.');
    for (const r of tried) console.log(`##   ${r.kind}: ${r.ok ? `ran on ${r.device}, which is not a GPU` : r.error}`);
    console.log('################################################################');
    show('cpu', cpu);
    return 2;
  }
  show('gpu', gpu);
  show('cpu', cpu);
  if (cpu.ok) console.log(`gpu/cpu throughput: ${(gpu.examplesPerSec / cpu.examplesPerSec).toFixed(2)}x`);
  return 0;
}

// No top-level await: the carried bundle is CommonJS.
void main().then((code) => (process.exitCode = code));
