// The BullMQ sandboxed processor: runs in a child process, so training can
// block this event loop while the parent keeps renewing the job's lock. This
// entry imports nothing heavy, so its process guards are in place before the
// tfjs, Prisma and AWS modules load: a parent killed during that start-up
// must not leave an orphan behind.
import type { SandboxedJob } from 'bullmq';
import type { JobPayload } from '../../shared/queue/contract.ts';

const orphaned = () => !process.connected;
// The parent went away before this module even loaded.
if (orphaned()) process.exit(1);
// When the worker process goes away, so does its sandbox: no orphan keeps training.
process.on('disconnect', () => process.exit(1));
// BullMQ's own handlers report an uncaught error to the parent over IPC; with the
// parent gone that report fails too, and its failure is another uncaught error:
// a loop at 100% CPU. Leave first.
const leaveIfOrphaned = () => {
  if (orphaned()) process.exit(1);
};
process.prependListener('uncaughtException', leaveIfOrphaned);
process.prependListener('unhandledRejection', leaveIfOrphaned);
// A terminal's Ctrl-C reaches the whole process group: while a job runs, the
// parent decides, and asks it to checkpoint and hand back through Postgres.
let running = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => running || process.exit(0));

const impl = import('./sandbox-job.ts');

export default async function processJob(job: SandboxedJob<JobPayload>) {
  const { runSandboxed } = await impl;
  running = true;
  try {
    return await runSandboxed(job);
  } finally {
    running = false;
  }
}
