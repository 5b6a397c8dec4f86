// A job's append-only event log: what the API and workers did to it, in order.
// Written in the same transaction as the change it describes where there is one.
import type { Db } from '../db/prisma.ts';

export type JobEventType =
  /** data: { status, ...reason } */
  | 'status'
  /** data: { stage } */
  | 'stage'
  /** data: one epoch's metrics */
  | 'epoch'
  /** A worker took the job. data: { attempt, backend, resumeFromEpoch? } */
  | 'attempt'
  /** The previous attempt ended without finishing (crash, shutdown, lost lease). data: { attempt, reason } */
  | 'interrupted'
  /** A transient failure; the job waits for another attempt. data: { code, message, attempt } */
  | 'retry'
  /** A worker took the job off the queue but its tenant had MAX_RUNNING_JOBS_PER_TENANT running; it waits. data: { reason, limit, running } */
  | 'deferred'
  | 'cancel_requested'
  | 'warning';

export const TERMINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled']);

type EventWriter = Pick<Db, 'jobEvent'>;

export function jobEvent(db: EventWriter, jobId: string, type: JobEventType, data: Record<string, unknown> = {}) {
  return db.jobEvent.create({ data: { jobId, type, data: data as never } });
}
