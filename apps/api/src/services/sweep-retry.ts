// A retried trial goes through its sweep (docs/sweeps.md): with the sweep's
// row locked, as advanceSweep holds it, a trial is retried only while the
// sweep runs, is not being cancelled, has a free slot under its parallelism,
// and the tenant has room under its queued-jobs limit.
import type { Config } from '../../../shared/config.ts';
import { ConflictError, TooManyRequestsError } from '../../../shared/errors.ts';
import type { Tx } from '../../../shared/jobs/job-store.ts';
import { TERMINAL_STATUSES } from '../../../shared/jobs/status.ts';
import type { SweepSpec } from '../../../shared/sweeps/spec.ts';
import { queuedRoom } from '../../../shared/sweeps/quota.ts';

export async function admitTrialRetry(tx: Tx, config: Config, tenantId: string, sweepId: string): Promise<void> {
  // Tenant, then sweep, as advanceSweep takes them (another order deadlocks with it).
  await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${tenantId}::uuid FOR NO KEY UPDATE`;
  const rows = await tx.$queryRaw<Array<{ status: string; spec: SweepSpec; cancelRequestedAt: Date | null }>>`
    SELECT status::text AS status, spec, "cancelRequestedAt" FROM "Sweep" WHERE id = ${sweepId}::uuid FOR UPDATE`;
  const sweep = rows[0];
  const refuse = (reason: string, message: string) => new ConflictError('sweep_trial_not_retryable', `This job is a trial of sweep ${sweepId}, which ${message}`, { sweepId, reason });
  // The sweep row is gone with its tenant's data only; the job is then an ordinary job.
  if (!sweep) return;
  if (sweep.status !== 'running') throw refuse('sweep_finished', `has ${sweep.status}: its result is final`);
  if (sweep.cancelRequestedAt) throw refuse('sweep_cancelling', 'is being cancelled');
  const jobs = await tx.job.findMany({ where: { sweepId }, select: { status: true } });
  const live = jobs.filter((j) => !TERMINAL_STATUSES.has(j.status)).length;
  if (live >= sweep.spec.parallelism) throw refuse('parallelism', `already has ${live} live trials (parallelism ${sweep.spec.parallelism}); retry once one ends`);
  if ((await queuedRoom(tx, tenantId, config.limits.queuedJobsPerTenant)) < 1) {
    throw new TooManyRequestsError('too_many_queued_jobs', 'This tenant already has MAX_QUEUED_JOBS_PER_TENANT queued or paused jobs', 30, { limit: config.limits.queuedJobsPerTenant });
  }
}
