// A worker killed with kill -9 while its training child is still starting up
// (loading tfjs, Prisma, the AWS SDK) must not leave that child behind. It used
// to spin at 100% CPU forever: BullMQ's error handler reported to the dead
// parent, failed, and the failure re-entered the handler. (With the old entry
// the 2 s and 3.5 s cases failed: the child was still there 15 s later.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configToEnv, loadConfigWith, withS3Endpoint } from '../apps/shared/config.ts';
import { SANDBOX_EXEC_ARGV } from '../apps/worker/src/worker.ts';

const require = createRequire(import.meta.url);
const BULLMQ_MAIN = path.join(path.dirname(require.resolve('bullmq')), '..', 'esm', 'classes', 'main.js');
const SANDBOX = path.resolve('apps/worker/src/sandbox.ts');

// Forks BullMQ's sandbox wrapper the way the worker does (piped stdio, --import tsx), sends Init, prints the child's pid.
const PARENT = `
import { fork } from 'node:child_process';
const child = fork(${JSON.stringify(BULLMQ_MAIN)}, [], { execArgv: ${JSON.stringify(SANDBOX_EXEC_ARGV)}, stdio: 'pipe' });
child.stdout.on('data', () => {}); child.stderr.on('data', () => {});
console.log('child ' + child.pid);
child.send({ cmd: 0, value: ${JSON.stringify(SANDBOX)} });
setInterval(() => {}, 1000);
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('sandbox start-up', () => {
  // 150 ms: before BullMQ's wrapper has even loaded our processor.
  for (const delayMs of [150, 500, 2000, 3500]) {
    it(`a child whose worker dies ${delayMs} ms into its start-up exits`, async () => {
      const env = configToEnv(withS3Endpoint(loadConfigWith({ LOG_LEVEL: 'warn', TRAIN_THREADS: '1' }), 'http://127.0.0.1:1'));
      const parent = spawn(process.execPath, ['--input-type=module', '-e', PARENT], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout!.on('data', (chunk: Buffer) => {
          const m = /child (\d+)/.exec(chunk.toString());
          if (m) resolve(Number(m[1]));
        });
        parent.once('exit', () => reject(new Error('the parent exited early')));
      });
      await new Promise((r) => setTimeout(r, delayMs));
      parent.kill('SIGKILL');
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const left = alive(pid);
      if (left) process.kill(pid, 'SIGKILL');
      assert.equal(left, false, `sandbox ${pid} outlived its worker`);
    });
  }
});
