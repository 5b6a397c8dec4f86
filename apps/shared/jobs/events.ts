// A job's append-only event log: what the API and workers did to it, in order.
// Written in the same transaction as the change it describes where there is one.
// Each event type has one payload schema; jobEvent only takes a payload that fits.
import { Type, type Static } from '@sinclair/typebox';
import type { Db } from '../db/prisma.ts';
import { EpochMetricSchema } from './columns.ts';
import { JobStageSchema, JobStatusSchema } from './status.ts';

const Int = Type.Integer();
const open = { additionalProperties: true };

export const JobEventPayloads = {
  /** The job's status changed (written by JobStore.transition only). */
  status: Type.Object(
    {
      status: JobStatusSchema,
      resumed: Type.Optional(Type.Boolean()),
      checkpointsKept: Type.Optional(Int),
      code: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      /** Set by POST /v1/jobs/:id/retry, with the code the job had failed with. */
      retried: Type.Optional(Type.Boolean()),
      previousError: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    open,
  ),
  stage: Type.Object({ stage: JobStageSchema }, open),
  /** One epoch's metrics. */
  epoch: Type.Composite([EpochMetricSchema, Type.Object({ totalEpochs: Int })], open),
  /** An attempt continues from a checkpoint. */
  attempt: Type.Object({ attempt: Int, resumeFrom: Type.Optional(Type.Object({ epoch: Int, batch: Int })) }, open),
  /** The previous attempt ended without finishing (crash, shutdown, lost lease), or a pause or shutdown stopped this one. */
  interrupted: Type.Object(
    { reason: Type.Union([Type.Literal('worker_lost'), Type.Literal('pause'), Type.Literal('shutdown')]), attempt: Type.Optional(Int), epoch: Type.Optional(Int), batch: Type.Optional(Int) },
    open,
  ),
  /** A transient failure; the job waits for another attempt. */
  retry: Type.Object({ code: Type.String(), message: Type.String(), attempt: Int }, open),
  /** A worker took the job off the queue but its tenant had MAX_RUNNING_JOBS_PER_TENANT running; it waits. */
  deferred: Type.Object({ reason: Type.Literal('MAX_RUNNING_JOBS_PER_TENANT'), limit: Type.Number(), running: Int }, open),
  cancel_requested: Type.Object({}, open),
  /** How training reads its data: held in memory or streamed from shards, and whether (and how) it is augmented. */
  data: Type.Object(
    {
      streamed: Type.Boolean(),
      trainExamples: Int,
      augmentation: Type.Boolean(),
      /** With augmentation and a frozen base: its features are computed per augmented batch, not once or from the cache. */
      featuresPerBatch: Type.Boolean(),
    },
    open,
  ),
  warning: Type.Object({ message: Type.String() }, open),
};

export type JobEventType = keyof typeof JobEventPayloads;
export type JobEventData<K extends JobEventType = JobEventType> = Static<(typeof JobEventPayloads)[K]>;
export const JOB_EVENT_TYPES = Object.keys(JobEventPayloads) as JobEventType[];
export const JobEventTypeSchema = Type.Union(JOB_EVENT_TYPES.map((t) => Type.Literal(t)));

/** A job's event as the API serves it, typed by its type. */
export type TypedJobEvent = { [K in JobEventType]: { id: string; type: K; data: JobEventData<K>; createdAt: string } }[JobEventType];

export { TERMINAL_STATUSES } from './status.ts';

type EventWriter = Pick<Db, 'jobEvent'>;

export function jobEvent<K extends JobEventType>(db: EventWriter, jobId: string, type: K, data: JobEventData<K>) {
  return db.jobEvent.create({ data: { jobId, type, data } });
}

/** An event of any type with its payload, for lists of events written together. */
export type AnyJobEvent = { [K in JobEventType]: { type: K; data: JobEventData<K> } }[JobEventType];

export function writeJobEvent(db: EventWriter, jobId: string, e: AnyJobEvent) {
  return db.jobEvent.create({ data: { jobId, type: e.type, data: e.data } });
}
