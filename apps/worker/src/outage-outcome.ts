// What becomes of a job whose run ended on a dependency fault (Postgres, Redis,
// S3 down) rather than on a fault of its own. It never spends one of the job's
// JOB_ATTEMPTS: past OUTAGE_BUDGET_MS the job fails with dependency_unavailable,
// naming the dependency, and keeps its checkpoints (POST /v1/jobs/:id/retry
// continues it); short of that, it goes back to the queue without a count.
import { dependencyFault } from '../../shared/faults/classify.ts';
import { OutageBudgetExhaustedError } from '../../shared/faults/dependency-error.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JobRecords } from './job-records.ts';

/** 'failed' or 'outage' (requeued, uncounted) for a dependency fault; undefined for any other error. */
export async function settleOutage(err: unknown, records: JobRecords, log: Logger): Promise<'failed' | 'outage' | undefined> {
  const dependency = dependencyFault(err);
  if (!dependency) return undefined;
  const message = (err as Error).message;
  if (err instanceof OutageBudgetExhaustedError) {
    log.error({ dependency, err: message }, 'job failed: a dependency stayed down past OUTAGE_BUDGET_MS');
    await records.finishFailed('dependency_unavailable', message);
    return 'failed';
  }
  log.warn({ dependency, err: message }, 'dependency fault; the job goes back to the queue without spending an attempt');
  await records.requeue('dependency_unavailable', `${dependency} was unavailable; the job waits for it`, 0);
  return 'outage';
}
