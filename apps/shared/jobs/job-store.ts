// Where a job changes status: nowhere else. transition() moves a job from the
// statuses it may be in to the next one, refusing any move LEGAL_TRANSITIONS
// does not list, and writes the status and its event in one transaction.
// read() decodes a job's JSON columns once, so nothing downstream casts them.
import type { Db } from '../db/prisma.ts';
import { Prisma, type Job } from '../generated/prisma/client.ts';
import { decodeBestCheckpoint, decodeEvaluation, decodeInterruptRequest, decodeLatestMetrics, decodeResumePoint, decodeSpec, toJson } from './decode.ts';
import { jobEvent, writeJobEvent, type AnyJobEvent, type JobEventData } from './events.ts';
import type { BestCheckpoint, EpochMetric, ResumePoint } from './columns.ts';
import type { Evaluation } from './evaluation.ts';
import type { JobSpec } from './spec.ts';
import { isLegalTransition, type InterruptRequest, type JobStatus } from './status.ts';

export type Tx = Prisma.TransactionClient;

/** A move LEGAL_TRANSITIONS does not list: a bug in the caller, refused before anything is written. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`A job cannot move from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The job's columns a write may set, its JSON columns typed by their schemas (null clears one). */
export type JobFields = Omit<Prisma.JobUpdateManyMutationInput, 'status' | 'spec' | 'evaluation' | 'bestCheckpoint' | 'latestMetrics' | 'resumePoint' | 'interruptRequest'> & {
  evaluation?: Evaluation | null;
  bestCheckpoint?: BestCheckpoint | null;
  latestMetrics?: EpochMetric | null;
  resumePoint?: ResumePoint | null;
  interruptRequest?: InterruptRequest | null;
};

const json = <T extends Prisma.InputJsonValue>(v: T | null | undefined) => (v === null ? Prisma.DbNull : v);

/** Prisma's update input for typed fields: JSON columns go through their schema's type, null becomes SQL NULL. */
export function jobUpdate(fields: JobFields): Prisma.JobUpdateManyMutationInput {
  const { evaluation, bestCheckpoint, latestMetrics, resumePoint, ...rest } = fields;
  return {
    ...rest,
    ...(evaluation !== undefined ? { evaluation: json(evaluation && toJson(decodeEvaluation, evaluation)) } : {}),
    ...(bestCheckpoint !== undefined ? { bestCheckpoint: json(bestCheckpoint && toJson(decodeBestCheckpoint, bestCheckpoint)) } : {}),
    ...(latestMetrics !== undefined ? { latestMetrics: json(latestMetrics && toJson(decodeLatestMetrics, latestMetrics)) } : {}),
    ...(resumePoint !== undefined ? { resumePoint: json(resumePoint && toJson(decodeResumePoint, resumePoint)) } : {}),
  };
}

export interface TransitionOptions {
  /** Further conditions the row must meet (tenant, lease token, lapsed lease). */
  where?: Prisma.JobWhereInput;
  /** More for the status event than the status itself. */
  event?: Omit<JobEventData<'status'>, 'status'>;
  /** Events that describe why, written before the status event. */
  before?: AnyJobEvent[];
}

/** The message of a cancelled job, wherever it was cancelled. */
export const cancelledMessage = (checkpoints: number) =>
  checkpoints > 0 ? `The job was cancelled; its ${checkpoints} checkpoint(s) are kept` : 'The job was cancelled before any checkpoint';

/** What a failed job records. */
export const failedFields = (code: string, message: string, now = new Date()): JobFields => ({ finishedAt: now, errorCode: code, errorMessage: message, leaseExpiresAt: null });

/** A job row with its JSON columns decoded. */
export type JobRecord<R extends Job = Job> = Omit<R, 'spec' | 'evaluation' | 'bestCheckpoint' | 'latestMetrics' | 'resumePoint' | 'interruptRequest'> & {
  spec: JobSpec;
  evaluation: Evaluation | null;
  bestCheckpoint: BestCheckpoint | null;
  latestMetrics: EpochMetric | null;
  resumePoint: ResumePoint | null;
  interruptRequest: InterruptRequest | null;
};

/** Decodes a job row's JSON columns; a row that does not fit fails with StoredJsonError. */
export function decodeJob<R extends Job>(row: R): JobRecord<R> {
  return {
    ...row,
    spec: decodeSpec(row.spec, row.id),
    evaluation: decodeEvaluation.nullable(row.evaluation, row.id),
    bestCheckpoint: decodeBestCheckpoint.nullable(row.bestCheckpoint, row.id),
    latestMetrics: decodeLatestMetrics.nullable(row.latestMetrics, row.id),
    resumePoint: decodeResumePoint.nullable(row.resumePoint, row.id),
    interruptRequest: decodeInterruptRequest.nullable(row.interruptRequest, row.id),
  };
}

/** What a new job is made of; its status is always queued. */
export type NewJob = Omit<Prisma.JobUncheckedCreateInput, 'status' | 'spec' | 'quotaStripe'> & {
  spec: JobSpec;
  /** createStatement only: the tenant's MAX_QUEUED_JOBS_PER_TENANT, which its insert takes a place under. */
  queuedQuota?: number;
};

/** SQLSTATE of finetune_take_queued_place (migration 20261203110000): the tenant's queue is full. */
export const QUEUE_FULL_SQLSTATE = 'QJ429';

export class JobStore {
  constructor(private readonly db: Db) {}

  /** The job, decoded; null when there is none. */
  async read(id: string, tx: Tx | Db = this.db): Promise<JobRecord | null> {
    const row = await tx.job.findUnique({ where: { id } });
    return row && decodeJob(row);
  }

  /** A new job: queued, with its first status event. */
  async create(tx: Tx, { queuedQuota, ...data }: NewJob) {
    if (queuedQuota !== undefined) throw new Error('create() takes no quota place; createStatement() does');
    await tx.job.create({ data: { ...data, spec: toJson(decodeSpec, data.spec), status: 'queued' } });
    await jobEvent(tx, data.id!, 'status', { status: 'queued' });
  }

  /**
   * create() as one SQL statement for plain pg (issue 19): a place in the tenant's queue
   * under `data.queuedQuota` (else the statement fails with QUEUE_FULL_SQLSTATE and writes
   * nothing), the job row in the stripe that place is counted in, and its status event, in a
   * single INSERT … RETURNING (one statement is one transaction), answering with `returning`
   * (columns over the new row as `j`, its output model as `m`).
   */
  createStatement(data: NewJob, returning: string): { text: string; values: unknown[] } {
    if (data.queuedQuota === undefined) throw new Error('createStatement() needs the queued-jobs quota');
    const text = `WITH q AS (SELECT finetune_take_queued_place($2::uuid, $14::int) AS stripe), j AS (
  INSERT INTO "Job" (id, "tenantId", type, status, spec, "baseModelId", "trainDatasetId", "validationDatasetId", "testDatasetId", "totalEpochs", "webhookUrl", "webhookSecret", "createdAt", "updatedAt", "quotaStripe")
  SELECT $1::uuid, $2::uuid, $3::"JobType", 'queued', $4::jsonb, $5::uuid, $6::uuid, $7::uuid, $8::uuid, $9::int, $10, $11, $12::timestamp, $12::timestamp, q.stripe FROM q RETURNING *
), e AS (INSERT INTO "JobEvent" ("jobId", type, data, "createdAt") SELECT id, 'status', $13::jsonb, $12::timestamp FROM j)
SELECT ${returning} FROM j LEFT JOIN "Model" m ON m."jobId" = j.id`;
    const status: JobEventData<'status'> = { status: 'queued' };
    const values = [
      data.id, data.tenantId, data.type, JSON.stringify(toJson(decodeSpec, data.spec)), data.baseModelId ?? null, data.trainDatasetId, data.validationDatasetId ?? null,
      data.testDatasetId ?? null, data.totalEpochs, data.webhookUrl ?? null, data.webhookSecret ?? null, new Date().toISOString(), JSON.stringify(status), data.queuedQuota,
    ];
    return { text, values };
  }

  /**
   * Moves the job from any of `from` to `to` with `fields`, and writes the status
   * event (after `opts.before`'s events) in the same transaction. True when it
   * moved; false when the job was in none of `from` or missed `opts.where`.
   * Refuses, writing nothing, a move LEGAL_TRANSITIONS does not allow.
   */
  async transition(tx: Tx | Db, id: string, from: JobStatus | readonly JobStatus[], to: JobStatus, fields: JobFields = {}, opts: TransitionOptions = {}): Promise<boolean> {
    const froms = typeof from === 'string' ? [from] : from;
    for (const f of froms) if (!isLegalTransition(f, to)) throw new IllegalTransitionError(f, to);
    const write = async (t: Tx) => {
      const n = await t.job.updateMany({ where: { ...opts.where, id, status: { in: [...froms] } }, data: { ...jobUpdate(fields), status: to } });
      if (n.count === 0) return false;
      for (const e of opts.before ?? []) await writeJobEvent(t, id, e);
      await jobEvent(t, id, 'status', { ...opts.event, status: to });
      return true;
    };
    return '$transaction' in tx ? tx.$transaction(write) : write(tx);
  }

  /**
   * Marks the job cancelled (the one way to), saying how many checkpoints it
   * keeps; transition()'s contract otherwise.
   */
  async cancel(tx: Tx | Db, id: string, from: JobStatus | readonly JobStatus[], fields: JobFields = {}, opts: Pick<TransitionOptions, 'where'> = {}): Promise<boolean> {
    const write = async (t: Tx) => {
      const kept = await t.checkpoint.count({ where: { jobId: id } });
      const now = new Date();
      const cancelled: JobFields = { finishedAt: now, errorCode: 'job_cancelled', errorMessage: cancelledMessage(kept), leaseExpiresAt: null, ...fields };
      return this.transition(t, id, from, 'cancelled', cancelled, { ...opts, event: { checkpointsKept: kept } });
    };
    return '$transaction' in tx ? tx.$transaction(write) : write(tx);
  }

  /** Asks a job's worker to pause or shut down at its next batch (or clears the request). */
  async requestInterrupt(where: Prisma.JobWhereInput, request: InterruptRequest | null): Promise<number> {
    const n = await this.db.job.updateMany({ where, data: { interruptRequest: request } });
    return n.count;
  }
}
