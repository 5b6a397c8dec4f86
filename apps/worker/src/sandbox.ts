// The BullMQ sandboxed processor: runs in a child process, so training can
// block this event loop while the parent keeps renewing the job's lock. The
// child exits with its worker (sandbox-guard.mjs, preloaded); this entry
// imports nothing heavy, and loads the job runner on first use.
import type { SandboxedJob } from 'bullmq';
import type { JobPayload } from '../../shared/queue/contract.ts';

// The parent went away before this module even loaded.
if (!process.connected) process.exit(1);
// A terminal's Ctrl-C reaches the whole process group: while a job runs, the
// parent decides, and asks it to checkpoint and hand back through Postgres.
let running = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => running || process.exit(0));

const impl = import('./sandbox-job.ts');

export default async function processJob(job: SandboxedJob<JobPayload>, token?: string) {
  const { runSandboxed } = await impl;
  running = true;
  try {
    return await runSandboxed(job, token);
  } finally {
    running = false;
  }
}
