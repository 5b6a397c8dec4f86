// What the worker process does when BullMQ reports an attempt's end: keeps
// its list of the jobs it holds, records what a sandbox could not record
// itself (a child that died or stalled, or one that could not start), and
// puts a handed-back job back in the queue.
import type { Job, Queue, Worker } from 'bullmq';
import type { Config } from '../../shared/config.ts';
import type { Db } from '../../shared/db/prisma.ts';
import { failedFields, JobStore } from '../../shared/jobs/job-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JobPayload } from '../../shared/queue/contract.ts';
import { ensureEnqueued } from '../../shared/queue/reconcile.ts';
import type { WorkerInfo } from '../../shared/queue/workers.ts';
import { attemptOutcome } from './sandbox-outcomes.ts';
import { advanceSweep } from '../../shared/sweeps/advance.ts';

export interface Bookkeeping {
  config: Config;
  log: Logger;
  db: Db;
  store: JobStore;
  queue: Queue<JobPayload>;
  info: WorkerInfo;
  /** Jobs this process holds: on shutdown they are asked to checkpoint and go back to the queue. */
  active: Set<string>;
  /** Keeps a write going until close() waits for it. */
  track(p: Promise<unknown>): void;
  /** Announces the worker (and its info) again. */
  beat(): Promise<unknown>;
}

export function watchAttempts(worker: Worker<JobPayload>, b: Bookkeeping): void {
  worker.on('active', (job) => b.active.add(job.data.jobId));
  worker.on('failed', (job, err) => job && attemptFailed(b, job, err));
  worker.on('completed', (job, result: { outcome?: string; backend?: string } | undefined) => attemptCompleted(b, job, result));
}

function attemptFailed(b: Bookkeeping, job: Job<JobPayload>, err: Error): void {
  const jobId = job.data.jobId;
  b.active.delete(jobId);
  const outcome = attemptOutcome(err);
  b.log.warn({ jobId, err: err.message, outcome }, 'queue attempt failed');
  // The sandbox recorded a failure or a retry itself.
  if (outcome === 'failed' || outcome === 'retry') {
    b.track(advanceSweepOf(b, jobId));
    return;
  }
  const code = outcome === 'crashed' ? 'worker_crashed' : 'internal_error';
  if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
    const failed = b.store.transition(b.db, jobId, ['queued', 'running'], 'failed', failedFields(code, 'The training process died on its last attempt; see the worker log'), { event: { code } });
    b.track(failed.then(() => advanceSweepOf(b, jobId)));
  } else if (outcome === 'crashed') {
    // Its training process is dead, so nobody holds the lease: the retry need not wait for it to lapse.
    b.track(b.db.job.updateMany({ where: { id: jobId, status: 'running' }, data: { leaseExpiresAt: new Date() } }));
  }
}

function attemptCompleted(b: Bookkeeping, job: Job<JobPayload>, result: { outcome?: string; backend?: string } | undefined): void {
  b.active.delete(job.data.jobId);
  // What a training process really got; it differs from the probe's only if the machine changed under us.
  if (result?.backend && result.backend !== b.info.backend) {
    b.log.warn({ probed: b.info.backend, got: result.backend }, 'a training process got another backend than the startup probe');
    b.info.backend = result.backend;
    b.info.device = 'unknown (differs from the startup probe)';
    void b.beat();
  }
  b.log.info({ jobId: job.data.jobId, result }, 'queue job completed');
  // A shutdown checkpointed it and set it queued in Postgres; put it back in Redis for another worker.
  if (result?.outcome === 'handed_back') b.track(ensureEnqueued(b.queue, b.config, job.data.jobId));
  else b.track(advanceSweepOf(b, job.data.jobId));
}

/** A trial that ended frees a slot of its sweep: the next trials start now rather than at the next reconcile. */
async function advanceSweepOf(b: Bookkeeping, jobId: string): Promise<void> {
  const job = await b.db.job.findUnique({ where: { id: jobId }, select: { sweepId: true } });
  if (job?.sweepId) await advanceSweep(b.db, b.queue, b.config, job.sweepId);
}

/** A deferred job went back to BullMQ's delayed set with no event here: only those still active are this worker's. */
export async function stillActive(queue: Queue<JobPayload>, ids: Set<string>): Promise<string[]> {
  const states = await Promise.all([...ids].map(async (id) => [id, await queue.getJobState(id).catch(() => 'unknown')] as const));
  return states.filter(([, state]) => state === 'active').map(([id]) => id);
}
