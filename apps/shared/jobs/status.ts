// A job's status and stage: the values come from Prisma's enums (one source),
// and the legal moves between statuses are declared here, once.
import { Type } from '@sinclair/typebox';
import { JobStage, JobStatus } from '../generated/prisma/enums.ts';

export { JobStage, JobStatus };

/** In the order the API has always documented them. */
export const JOB_STATUSES = ['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export const JOB_STAGES = Object.values(JobStage);

// Compile-time check that the list above names every enum value and nothing else.
type Missing = Exclude<JobStatus, (typeof JOB_STATUSES)[number]>;
const everyStatus: Missing extends never ? true : Missing = true;
void everyStatus;

export const JobStatusSchema = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));
export const JobStageSchema = Type.Union(JOB_STAGES.map((s) => Type.Literal(s)));

export type TerminalStatus = 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set<TerminalStatus>(['succeeded', 'failed', 'cancelled']);
export const isTerminal = (s: JobStatus): s is TerminalStatus => TERMINAL_STATUSES.has(s);

/**
 * Every status a job may move to from each status. A worker claiming a running
 * job (whose previous worker died) moves running → running: a new attempt.
 */
export const LEGAL_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'paused', 'cancelled', 'failed'],
  running: ['running', 'queued', 'paused', 'succeeded', 'failed', 'cancelled'],
  paused: ['queued', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const isLegalTransition = (from: JobStatus, to: JobStatus) => LEGAL_TRANSITIONS[from].includes(to);

/** Cancel or pause, asked of a running job by the API; shutdown, by its worker's parent process. */
export const INTERRUPT_REQUESTS = ['pause', 'shutdown'] as const;
export type InterruptRequest = (typeof INTERRUPT_REQUESTS)[number];
export const InterruptRequestSchema = Type.Union([Type.Literal('pause'), Type.Literal('shutdown')]);

/** A webhook delivery: pending until delivered, or failed after its last attempt. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const DeliveryStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);
