// The worker's writes to Postgres for one job, all fenced by the job's lease:
// a claim raises the job's leaseToken, and every later write names the token
// it claimed with. A zombie (a worker whose lease lapsed and was taken over)
// finds the token moved on, and its write is rolled back with lease_lost.
import type { Db } from '../../shared/db/prisma.ts';
import type { Prisma } from '../../shared/generated/prisma/client.ts';
import type { JobStage } from '../../shared/generated/prisma/enums.ts';
import { ConflictError } from '../../shared/errors.ts';
import { jobEvent, type JobEventData, type JobEventType } from '../../shared/jobs/events.ts';
import { failedFields, JobStore, jobUpdate, type JobFields, type TransitionOptions } from '../../shared/jobs/job-store.ts';
import type { ResumePoint } from '../../shared/jobs/columns.ts';
import { decodeInterruptRequest, decodeResumePoint } from '../../shared/jobs/decode.ts';
import type { JobStatus } from '../../shared/jobs/status.ts';
import type { EpochResult } from './pipeline/train.ts';

export class LeaseLostError extends ConflictError {
  constructor(jobId: string) {
    super('lease_lost', `Another worker holds job ${jobId} now; this worker's write was rejected`, { jobId });
  }
}

type Tx = Prisma.TransactionClient;

export interface Claim {
  token: number;
  /** This attempt, 1-based. */
  attempt: number;
  /** The status before the claim: running means an earlier attempt ended without a word. */
  previousStatus: JobStatus;
  resumePoint: ResumePoint | null;
}

export type { ResumePoint };

export class JobRecords {
  private token = -1;
  private readonly store: JobStore;

  constructor(
    private readonly db: Db,
    readonly jobId: string,
    private readonly leaseMs: number,
  ) {
    this.store = new JobStore(db);
  }

  /**
   * Takes the job unless it is finished, cancelled, paused, or held by a live
   * lease. Returns null when it cannot be taken, and 'deferred' when its tenant
   * already has maxRunning jobs running (MAX_RUNNING_JOBS_PER_TENANT): the job
   * stays queued, untouched, for a later try.
   */
  claim(backend: string): Promise<Claim | null>;
  claim(backend: string, maxRunning: number | undefined): Promise<Claim | null | 'deferred'>;
  async claim(backend: string, maxRunning = Infinity): Promise<Claim | null | 'deferred'> {
    const now = new Date();
    return this.db.$transaction(async (tx) => {
      const before = await tx.job.findUnique({ where: { id: this.jobId }, select: { status: true, leaseExpiresAt: true, tenantId: true, cancelRequestedAt: true, attempts: true } });
      if (!before) return null;
      const takeable = ['queued', 'running'].includes(before.status) && !before.cancelRequestedAt && (!before.leaseExpiresAt || before.leaseExpiresAt < now);
      if (takeable && Number.isFinite(maxRunning)) {
        // The tenant's row lock serialises claims of its jobs across every worker,
        // so the count below sees each claim committed before this one. NO KEY UPDATE:
        // FOR UPDATE would also block a submit's foreign-key check while that submit holds
        // a queued-count stripe this claim's status change needs (a deadlock).
        await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${before.tenantId}::uuid FOR NO KEY UPDATE`;
        const running = await tx.job.count({ where: { tenantId: before.tenantId, id: { not: this.jobId }, status: 'running', leaseExpiresAt: { gt: now } } });
        if (running >= maxRunning) {
          // Said once, not on every try.
          if (!(await tx.jobEvent.findFirst({ where: { jobId: this.jobId, type: 'deferred' }, select: { id: true } }))) {
            await jobEvent(tx, this.jobId, 'deferred', { reason: 'MAX_RUNNING_JOBS_PER_TENANT', limit: maxRunning, running });
          }
          // A shutdown asked of the worker that took it concerns that worker only: this job never ran there.
          await tx.job.updateMany({ where: { id: this.jobId, status: 'queued', interruptRequest: 'shutdown' }, data: jobUpdate({ interruptRequest: null }) });
          return 'deferred';
        }
      }
      const taken = await this.store.transition(
        tx,
        this.jobId,
        ['queued', 'running'],
        'running',
        {
          leaseToken: { increment: 1 },
          leaseExpiresAt: new Date(now.getTime() + this.leaseMs),
          attempts: { increment: 1 },
          backend,
          // A pending pause or shutdown is kept: the new attempt honours it at its first batch.
          errorCode: null,
          errorMessage: null,
        },
        {
          where: { cancelRequestedAt: null, OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: now } }] },
          before: before.status === 'running' ? [{ type: 'interrupted', data: { attempt: before.attempts, reason: 'worker_lost' } }] : [],
        },
      );
      if (!taken) return null;
      const job = await tx.job.findUniqueOrThrow({ where: { id: this.jobId } });
      if (!job.startedAt) await tx.job.update({ where: { id: this.jobId }, data: { startedAt: now } });
      this.token = job.leaseToken;
      return { token: job.leaseToken, attempt: job.attempts, previousStatus: before.status, resumePoint: decodeResumePoint.nullable(job.resumePoint, job.id) };
    });
  }

  /** Runs writes only while this worker still holds the lease; renews it on the way. */
  private fenced<T>(write: (tx: Tx) => Promise<T>, fields: JobFields = {}): Promise<T> {
    return this.db.$transaction(async (tx) => {
      const held = await tx.job.updateMany({
        where: { id: this.jobId, leaseToken: this.token },
        data: jobUpdate({ leaseExpiresAt: new Date(Date.now() + this.leaseMs), ...fields }),
      });
      if (held.count === 0) throw new LeaseLostError(this.jobId);
      return write(tx);
    });
  }

  /** The running job's next status, written only while this worker still holds the lease. */
  private settle(to: JobStatus, fields: JobFields, opts: Pick<TransitionOptions, 'event' | 'before'> & { write?: (tx: Tx) => Promise<unknown> } = {}) {
    return this.db.$transaction(async (tx) => {
      const moved = await this.store.transition(tx, this.jobId, 'running', to, { leaseExpiresAt: new Date(Date.now() + this.leaseMs), ...fields }, { where: { leaseToken: this.token }, event: opts.event, before: opts.before });
      if (!moved) throw new LeaseLostError(this.jobId);
      await opts.write?.(tx);
    });
  }

  /** The heartbeat: extends the lease, or says it is lost. */
  renew(): Promise<boolean> {
    return this.fenced(async () => true).catch((err) => {
      if (err instanceof LeaseLostError) return false;
      throw err;
    });
  }

  setStage(stage: JobStage) {
    return this.fenced((tx) => jobEvent(tx, this.jobId, 'stage', { stage }), { stage });
  }

  event<K extends JobEventType>(type: K, data: JobEventData<K>) {
    return this.fenced((tx) => jobEvent(tx, this.jobId, type, data));
  }

  /** Cancel, pause or shutdown, as asked through Postgres by any API instance or the worker's parent. */
  async stopRequested(): Promise<'cancel' | 'pause' | 'shutdown' | false> {
    const job = await this.db.job.findUnique({ where: { id: this.jobId }, select: { cancelRequestedAt: true, interruptRequest: true } });
    if (job?.cancelRequestedAt) return 'cancel';
    return (job && decodeInterruptRequest.nullable(job.interruptRequest, this.jobId)) ?? false;
  }

  /** Clears what an earlier attempt recorded past the point this one continues from. */
  dropAfter(epoch: number) {
    return this.fenced(async (tx) => {
      await tx.epochMetric.deleteMany({ where: { jobId: this.jobId, epoch: { gt: epoch } } });
      await tx.checkpoint.deleteMany({ where: { jobId: this.jobId, epoch: { gt: epoch } } });
      await tx.job.update({ where: { id: this.jobId }, data: jobUpdate({ evaluation: null }) });
    });
  }

  /** Metrics and checkpoint of one finished epoch, written together, after the checkpoint's files. */
  recordEpoch(r: EpochResult, totalEpochs: number, checkpoint: { prefix: string; sizeBytes: number }) {
    const metrics = {
      loss: r.loss,
      accuracy: r.accuracy,
      valLoss: r.valLoss,
      valAccuracy: r.valAccuracy,
      durationMs: r.durationMs,
      examplesPerSec: r.examplesPerSec,
    };
    const key = { jobId_epoch: { jobId: this.jobId, epoch: r.epoch } };
    return this.fenced(
      async (tx) => {
        await tx.epochMetric.upsert({ where: key, create: { jobId: this.jobId, epoch: r.epoch, ...metrics }, update: metrics });
        await tx.checkpoint.upsert({ where: key, create: { jobId: this.jobId, epoch: r.epoch, ...checkpoint }, update: checkpoint });
        await jobEvent(tx, this.jobId, 'epoch', { epoch: r.epoch, totalEpochs, ...metrics });
      },
      { epoch: r.epoch, progress: r.epoch / totalEpochs, latestMetrics: { epoch: r.epoch, ...metrics }, resumePoint: null },
    );
  }

  /** Pause or shutdown: the job keeps its place and lets go of its lease. */
  interrupt(reason: 'pause' | 'shutdown', point: ResumePoint | null) {
    return this.settle(reason === 'pause' ? 'paused' : 'queued', { resumePoint: point, interruptRequest: null, leaseExpiresAt: new Date() }, {
      before: [{ type: 'interrupted', data: { reason, ...(point ? { epoch: point.epoch, batch: point.batch } : {}) } }],
    });
  }

  finishCancelled() {
    return this.db.$transaction(async (tx) => {
      if (!(await this.store.cancel(tx, this.jobId, 'running', {}, { where: { leaseToken: this.token } }))) throw new LeaseLostError(this.jobId);
    });
  }

  finishFailed(code: string, message: string) {
    return this.settle('failed', failedFields(code, message), { event: { code, message } });
  }

  /** Success: the output model and the job's final state in one transaction. */
  finishSucceeded(write: (tx: Tx) => Promise<unknown>, fields: Pick<JobFields, 'evaluation' | 'bestCheckpoint'>) {
    return this.settle('succeeded', { ...fields, progress: 1, finishedAt: new Date(), leaseExpiresAt: null, resumePoint: null }, { write });
  }

  /** A transient failure that will be retried: the job waits in the queue again, and lets go of its lease. */
  requeue(code: string, message: string, attempt: number) {
    return this.settle('queued', { errorCode: code, errorMessage: message, leaseExpiresAt: new Date() }, { before: [{ type: 'retry', data: { code, message, attempt } }] });
  }
}
