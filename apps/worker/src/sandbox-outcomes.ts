// An attempt's end in BullMQ's own terms, as the sandbox child reports it and
// the worker process reads it. BullMQ copies an error's own properties across
// the process boundary and decides on its name (UnrecoverableError: never
// retried), so each error here carries a typed `outcome`; an error without one
// did not come from a sandbox that ran to its end: the child died or stalled.
import { DelayedError, UnrecoverableError, type SandboxedJob } from 'bullmq';
import type { RunResult } from './stages/context.ts';

/** How long a job deferred by MAX_RUNNING_JOBS_PER_TENANT waits (BullMQ's delayed set) before a worker tries it again. */
export const DEFER_MS = 2_000;

export type AttemptOutcome = 'failed' | 'retry' | 'error';

/** The job failed for good (bad input, or its last attempt); Postgres says so already. */
export class JobFailedError extends UnrecoverableError {
  readonly outcome = 'failed';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    // BullMQ's constructor names the error after the subclass; its retry check wants this name.
    this.name = 'UnrecoverableError';
  }
}

/** A transient failure with attempts left: BullMQ retries it with its backoff. */
export class JobRetryError extends Error {
  readonly outcome = 'retry';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'JobRetryError';
  }
}

/** The sandbox threw before it could settle the job (it could not start, or reach Postgres); BullMQ retries it. */
export class SandboxError extends Error {
  readonly outcome = 'error';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'SandboxError';
  }
}

/** What the worker process makes of a failed attempt's error. */
export function attemptOutcome(err: Error): AttemptOutcome | 'crashed' {
  const outcome = (err as { outcome?: unknown }).outcome;
  return outcome === 'failed' || outcome === 'retry' || outcome === 'error' ? outcome : 'crashed';
}

/** Hands a run's result to BullMQ: a return value completes the job; each thrown error is BullMQ's word for the rest. */
export async function settleAttempt(job: Pick<SandboxedJob, 'moveToDelayed'>, token: string | undefined, result: RunResult, backend: string, delays: { outageRetryMs: number }) {
  switch (result.outcome) {
    case 'failed':
      throw new JobFailedError(result.code, result.message);
    case 'retry':
      throw new JobRetryError(result.code, result.message);
    case 'deferred':
      // Its tenant is at MAX_RUNNING_JOBS_PER_TENANT: the same BullMQ job waits, not counted as an attempt.
      await job.moveToDelayed(Date.now() + DEFER_MS, token);
      throw new DelayedError();
    case 'outage':
      // A dependency was down past what the run waited: Postgres says queued; the same BullMQ job waits, no attempt spent.
      await job.moveToDelayed(Date.now() + delays.outageRetryMs, token);
      throw new DelayedError();
    default:
      return { outcome: result.outcome, backend };
  }
}
