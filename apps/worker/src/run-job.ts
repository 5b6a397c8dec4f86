// Runs one job: claims it (or settles one nobody can run any more), keeps its
// lease alive, and runs its stages (stages/run-stages.ts). Knows nothing of
// HTTP or queues; the sandbox turns its result into BullMQ's terms.
import type { Logger } from '../../shared/logger.ts';
import { JobRecords, LeaseLostError, type Claim } from './job-records.ts';
import { TERMINAL_STATUSES } from '../../shared/jobs/status.ts';
import { JobStore } from '../../shared/jobs/job-store.ts';
import { JOB_INCLUDE, stageContext, type Attempt, type RunContext, type RunOutcome, type RunResult } from './stages/context.ts';
import { runStages } from './stages/run-stages.ts';

export type { Attempt, RunContext, RunOutcome, RunResult } from './stages/context.ts';
export { throttle } from './stages/context.ts';
export { classify } from './stages/settle.ts';

/** Settles a job nobody can run any more, or takes it; null when there is nothing to run. */
async function claimOrSettle(ctx: RunContext, records: JobRecords, log: Logger): Promise<Claim | Exclude<RunOutcome, 'failed' | 'retry'>> {
  const jobId = records.jobId;
  for (let tries = 0; tries < 2; tries++) {
    const job = await ctx.db.job.findUnique({ where: { id: jobId }, select: { status: true, cancelRequestedAt: true, leaseExpiresAt: true } });
    if (!job || TERMINAL_STATUSES.has(job.status) || job.status === 'paused') {
      log.info({ status: job?.status }, 'nothing to run');
      return 'skipped';
    }
    const leaseLive = job.status === 'running' && job.leaseExpiresAt !== null && job.leaseExpiresAt.getTime() > Date.now();
    if (job.cancelRequestedAt && !leaseLive) {
      // Cancelled while no worker held it (queued, or its worker died): settle it here.
      await new JobStore(ctx.db).cancel(ctx.db, jobId, ['queued', 'running'], {}, { where: { OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: new Date() } }] } });
      return 'cancelled';
    }
    const claim = await records.claim(ctx.backend.kind, ctx.maxRunningPerTenant);
    if (claim === 'deferred') {
      log.info('deferred: the tenant has MAX_RUNNING_JOBS_PER_TENANT jobs running');
      return 'deferred';
    }
    if (claim) return claim;
    if (!leaseLive) return 'skipped';
    // Another attempt's lease has not run out (e.g. the queue redelivered before it lapsed): wait it out once.
    await new Promise((r) => setTimeout(r, Math.min(ctx.leaseMs, job.leaseExpiresAt!.getTime() - Date.now()) + 250));
  }
  return 'skipped';
}

export async function runJob(ctx: RunContext, jobId: string, attempt: Attempt): Promise<RunResult> {
  const log = ctx.log.child({ jobId });
  const records = new JobRecords(ctx.db, jobId, ctx.leaseMs);
  const claim = await claimOrSettle(ctx, records, log);
  if (typeof claim === 'string') return { outcome: claim } as RunResult;

  // The heartbeat keeps the lease; when it finds the lease taken, training stops without another write.
  let leaseLost = false;
  const heartbeat = setInterval(() => {
    records.renew().then((held) => { leaseLost ||= !held; }, (err: Error) => log.warn({ err: err.message }, 'lease renewal failed'));
  }, Math.max(250, Math.floor(ctx.leaseMs / 3)));
  try {
    const job = await ctx.db.job.findUniqueOrThrow({ where: { id: jobId }, include: JOB_INCLUDE });
    log.info({ type: job.type, attempt: claim.attempt, backend: ctx.backend.kind }, 'job started');
    return await runStages(stageContext(ctx, records, claim, attempt, log, job, () => leaseLost));
  } catch (err) {
    if (err instanceof LeaseLostError) {
      log.warn('lost the job\'s lease to another worker; stopping without further writes');
      return { outcome: 'skipped' };
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}
