// POST /v1/jobs/:id/retry: a failed job goes back to the queue and continues
// from its latest checkpoint (its epochs and checkpoints are kept). Made for
// jobs that failed on an outage longer than OUTAGE_BUDGET_MS, it takes any
// failed job; the retried run gets a fresh JOB_ATTEMPTS. A sweep's trial only
// while its sweep takes it (sweep-retry.ts).
import type { Queue } from 'bullmq';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import { ConflictError, NotFoundError, TransientError } from '../../../shared/errors.ts';
import { JobStore } from '../../../shared/jobs/job-store.ts';
import type { JobPayload } from '../../../shared/queue/contract.ts';
import { ensureEnqueued } from '../../../shared/queue/reconcile.ts';
import { admitTrialRetry } from './sweep-retry.ts';

export async function retryJob(db: Db, queue: Queue<JobPayload>, config: Config, tenantId: string, id: string): Promise<void> {
  const retried = await db.$transaction(async (tx) => {
    const before = await tx.job.findFirst({ where: { id, tenantId }, select: { status: true, errorCode: true, sweepId: true } });
    if (!before) throw new NotFoundError('job', id);
    // A sweep's trial is retried through its sweep, under the sweep's row lock.
    if (before.sweepId && before.status === 'failed') await admitTrialRetry(tx, config, tenantId, before.sweepId);
    const moved = await new JobStore(db).transition(tx, id, 'failed', 'queued',
      { finishedAt: null, errorCode: null, errorMessage: null, leaseExpiresAt: null, interruptRequest: null },
      { where: { tenantId }, event: { retried: true, previousError: before.errorCode } });
    if (!moved) {
      throw new ConflictError('job_not_retryable', `Job ${id} is ${before.status}; only a failed job can be retried`, { status: before.status });
    }
    return true;
  });
  if (!retried) return;
  try {
    await ensureEnqueued(queue, config, id);
  } catch (err) {
    // Postgres says queued; the workers' reconciler enqueues it once Redis is back.
    throw new TransientError('queue_unavailable', `The job is queued but could not be handed to the queue yet: ${(err as Error).message}`);
  }
}
