// Worker processes as a deployment runs them (`npm run start:worker`), so
// tests can kill -9 or SIGTERM a real one.
import { spawn, type ChildProcess } from 'node:child_process';
import { configToEnv, type Config } from '../../apps/shared/config.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string | null>;
  log(): string;
}

/** Starts a worker process on this config and waits until it has started. */
export async function spawnWorker(config: Config, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...configToEnv(config), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before starting:\n${output}`));
    });
  });
  return { child, exited, log: () => output };
}

/** Kills a worker process and its sandboxes: SIGKILL leaves no chance to clean up. */
export async function killHard(w: WorkerProcess): Promise<void> {
  w.child.kill('SIGKILL');
  await w.exited;
}
