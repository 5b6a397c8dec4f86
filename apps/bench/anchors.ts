// The benchmark's sides as processes: ours (apps/bench/transfer-ours.ts, one
// backend each) and the anchors users would pick, run from where they lie
// (../shared/anchors, or --anchors): PyTorch 2 and Keras 3 on TensorFlow in a
// virtual environment that the anchors' setup.sh makes, and Debian's
// PyTorch 1.13 when the system python has it. Each run prints its results;
// these parse them into one shape.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** One run's measurements; a field the side does not measure is absent. */
export interface Run {
  /** (1) full training, examples per second. */
  fullExPerSec: number;
  /** (2) the recipe as written, seconds. */
  recipeSeconds: number;
  /** (3) base features once, then the head, seconds. */
  smartSeconds?: number;
  fullAcc: number;
  recipeAcc: number;
  smartAcc?: number;
  /** Anything else worth printing (breakdowns, memory). */
  notes?: string;
}

export interface Side {
  name: string;
  run(): Promise<Run>;
}

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[]): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function checked(cmd: string, args: string[]): Promise<string> {
  const out = await exec(cmd, args);
  if (out.code !== 0) throw new Error(`${path.basename(args[0] ?? cmd)} exited ${out.code}: ${out.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return out.stdout;
}

function match(text: string, re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(text);
  if (!m) throw new Error(`unexpected ${what} output: ${text.trim()}`);
  return m;
}

export interface BenchSetup {
  data: string;
  epochs: number;
  threads: number;
}

/** Our side on one backend (a TF_BACKEND choice; `auto` is named after the backend it picked). */
export function oursSide(backend: string, s: BenchSetup): Side {
  const script = path.join(import.meta.dirname, 'transfer-ours.ts');
  const side: Side = {
    name: `ours (${backend})`,
    async run() {
      const out = await checked(process.execPath, ['--import', 'tsx', script, '--data', s.data, '--epochs', String(s.epochs), '--backend', backend, '--threads', String(s.threads)]);
      const r = JSON.parse(out.trim().split('\n').at(-1)!);
      side.name = `ours (${r.backend}, ${r.threads} thread${r.threads === 1 ? '' : 's'})`;
      return {
        fullExPerSec: r.full.examples / r.full.seconds,
        recipeSeconds: r.recipe.seconds,
        smartSeconds: r.smart.seconds,
        fullAcc: r.full.testAcc,
        recipeAcc: r.recipe.testAcc,
        smartAcc: r.smart.testAcc,
        notes: `smart: features ${r.smart.featureSeconds.toFixed(1)} s + head ${r.smart.headSeconds.toFixed(1)} s + test ${r.smart.testSeconds.toFixed(1)} s; ` +
          `${r.tensors} tensors left, RSS ${r.rssMiB} MiB`,
      };
    },
  };
  return side;
}

const num = (m: RegExpExecArray, i: number) => Number(m[i]);

/** torch_mnist_transfer.py: 2 threads (set in the script); its frozen-base time is its timed loop, examples / (examples/s). */
export function torchSide(name: string, python: string, anchors: string, s: BenchSetup, recipeExamples: number): Side {
  return {
    name,
    async run() {
      const out = await checked(python, [path.join(anchors, 'torch_mnist_transfer.py'), s.data, String(s.epochs)]);
      const full = match(out, /pretrain 0-4: (\d+) ex\/s, test acc ([\d.]+)/, 'torch');
      const frozen = match(out, /transfer 5-9 \(frozen base\): (\d+) ex\/s, test acc ([\d.]+)/, 'torch');
      return { fullExPerSec: num(full, 1), fullAcc: num(full, 2), recipeSeconds: recipeExamples / num(frozen, 1), recipeAcc: num(frozen, 2) };
    },
  };
}

/** keras_mnist_transfer.py: its walls include compile and a 256-example warm-up fit; its smart way includes the test set's features. */
export function kerasSide(name: string, python: string, anchors: string, s: BenchSetup): Side {
  return {
    name,
    async run() {
      const out = await checked(python, [path.join(anchors, 'keras_mnist_transfer.py'), s.data, String(s.epochs), String(s.threads)]);
      const full = match(out, /pretrain 0-4: (\d+) ex\/s, test acc ([\d.]+)/, 'keras');
      const recipe = match(out, /transfer 5-9 \(frozen base, run every batch\): (\d+) ex\/s, wall ([\d.]+) s, test acc ([\d.]+)/, 'keras');
      const smart = match(out, /transfer 5-9 \(features once ([\d.]+) s, then head\): (\d+) ex\/s, wall ([\d.]+) s, test acc ([\d.]+)/, 'keras');
      return {
        fullExPerSec: num(full, 1), fullAcc: num(full, 2),
        recipeSeconds: num(recipe, 2), recipeAcc: num(recipe, 3),
        smartSeconds: num(smart, 3), smartAcc: num(smart, 4),
        notes: `smart: features ${smart[1]} s`,
      };
    },
  };
}

/** Makes (or reuses) the anchors' virtual environment with their setup.sh; returns its python and the versions it printed. */
export async function anchorsVenv(anchors: string, venv: string): Promise<{ python: string; versions: string }> {
  const out = await checked('bash', [path.join(anchors, 'setup.sh'), venv]);
  return { python: path.join(venv, 'bin', 'python'), versions: out.trim().split('\n').at(-1)! };
}

/** Debian's python3-torch (1.13, generic BLAS), if the system python has it. */
export async function debianTorch(): Promise<{ python: string; version: string } | { missing: string }> {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const out = await exec(python, ['-c', 'import torch; print(torch.__version__)']).catch(() => undefined);
  if (!out || out.code !== 0) return { missing: `${python} has no torch (Debian: apt-get install python3-torch)` };
  return { python, version: out.stdout.trim() };
}

export function findAnchors(given: string | undefined): string | undefined {
  const candidates = given ? [given] : ['../shared/anchors', '../../shared/anchors'];
  return candidates.map((c) => path.resolve(c)).find((d) => existsSync(path.join(d, 'torch_mnist_transfer.py')) && existsSync(path.join(d, 'keras_mnist_transfer.py')));
}
