// What every stage of a claimed job works with: the worker's services, the
// job's lease-fenced records, the job as read when it started, and the checks
// for a stop request (cancel, pause, shutdown, a lost lease).
import type { Db } from '../../../shared/db/prisma.ts';
import type { Prisma } from '../../../shared/generated/prisma/client.ts';
import type { JobSpec } from '../../../shared/jobs/spec.ts';
import { decodeSpec } from '../../../shared/jobs/decode.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { BackendInfo } from '../../../shared/ml/tf.ts';
import type { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import type { Claim, JobRecords } from '../job-records.ts';
import type { GradientPeers } from '../pipeline/peers.ts';
import type { StopReason } from '../pipeline/train.ts';

export interface RunContext {
  db: Db;
  storage: Storage;
  log: Logger;
  backend: BackendInfo;
  cancelPollMs: number;
  leaseMs: number;
  /** MAX_RUNNING_JOBS_PER_TENANT, enforced at claim time in Postgres. @defaultValue no limit */
  maxRunningPerTenant?: number;
  /** Builds a user's model in a bounded child process before the load stage builds it here. */
  inspector?: ModelInspector;
  /** Data-parallel peer threads, for training sets of at least minExamples. */
  parallel?: { peers(): Promise<GradientPeers>; minExamples: number };
  /** A data split of at most this many float32 bytes is held in memory; larger ones stream (DATA_IN_MEMORY_BYTES). */
  dataInMemoryBytes?: number;
  /** How long a job that met an outage waits in BullMQ's delayed set before a worker tries it again (OUTAGE_RETRY_MAX_MS). */
  outageRetryMs: number;
  /** Moves a sweep forward from inside a trial (its features recorded). @defaultValue none: its next advance is a trial's end or the reconciler */
  advanceSweep?: (sweepId: string) => Promise<void>;
}

export interface Attempt {
  /** Attempts before this one. */
  attemptsMade: number;
  maxAttempts: number;
}

/**
 * handed_back: a shutdown checkpointed the job and put it back in the queue for another worker.
 * deferred: its tenant had as many jobs running as it may; still queued, to be tried again later.
 * outage: a dependency was down; queued again without spending an attempt (outage-outcome.ts).
 */
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'retry' | 'paused' | 'handed_back' | 'deferred' | 'outage';

/** How a run ended; a failure or retry says why, for BullMQ's record of the attempt. */
export type RunResult =
  | { outcome: Exclude<RunOutcome, 'failed' | 'retry'> }
  | { outcome: 'failed' | 'retry'; code: string; message: string };

export const JOB_INCLUDE = { baseModel: true, trainDataset: true, validationDataset: true, testDataset: true } as const;
export type JobRow = Prisma.JobGetPayload<{ include: typeof JOB_INCLUDE }>;

export interface StageContext {
  run: RunContext;
  records: JobRecords;
  claim: Claim;
  attempt: Attempt;
  log: Logger;
  jobId: string;
  job: JobRow;
  spec: JobSpec;
  leaseLost(): boolean;
  /** The latest stop request (asked of Postgres at most every cancelPollMs). */
  stopRequested(): Promise<StopReason | false>;
  /** A stop check for training that answers a lost lease, or one of `allowed`. */
  stopFor(allowed: StopReason[]): () => Promise<StopReason | false>;
}

/** Asks `check` at most every `everyMs`; once it answers something, keeps that answer. */
export function throttle<T>(check: () => Promise<T | false>, everyMs: number): () => Promise<T | false> {
  let last = 0;
  let value: T | false = false;
  return async () => {
    const now = Date.now();
    if (!value && now - last >= everyMs) {
      last = now;
      value = await check();
    }
    return value;
  };
}

export function stageContext(run: RunContext, records: JobRecords, claim: Claim, attempt: Attempt, log: Logger, job: JobRow, leaseLost: () => boolean): StageContext {
  const stopRequested = throttle(() => records.stopRequested(), run.cancelPollMs);
  return {
    run, records, claim, attempt, log, job, leaseLost, stopRequested,
    jobId: records.jobId,
    spec: decodeSpec(job.spec, job.id),
    stopFor: (allowed) => async () => {
      if (leaseLost()) return 'lease_lost';
      const reason = await stopRequested();
      return reason && allowed.includes(reason) ? reason : false;
    },
  };
}
