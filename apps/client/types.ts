// The client's types, derived from the very TypeBox schemas the API validates
// with. Type-only imports: the client loads none of the service's code at run time.
import type { Static } from '@sinclair/typebox';
import type { ApiKeySchema, CreatedApiKey as CreatedApiKeySchema, CreateKeyBody, CreateTenantBody, TenantSchema } from '../api/src/schemas/admin.ts';
import type { ErrorSchema, PageQuery } from '../api/src/schemas/common.ts';
import type { CreateDatasetBody, DatasetSchema } from '../api/src/schemas/datasets.ts';
import type { CheckpointsResponse, JobEventQuery, JobEventSchema, JobListQuery, JobSchema, WebhookDeliveriesResponse } from '../api/src/schemas/jobs.ts';
import type { ModelSchema, RegisterModelBody, SignedUrlResponse } from '../api/src/schemas/models.ts';
import type { CreateUploadBody, UploadResponse } from '../api/src/schemas/uploads.ts';
import type { CreateJobSchema } from '../shared/jobs/spec.ts';
import type { EpochMetric } from '../shared/jobs/columns.ts';
import type { Comparison, Evaluation } from '../shared/jobs/evaluation.ts';
import type { JobEventData, JobEventType, TypedJobEvent } from '../shared/jobs/events.ts';

/** Fields whose schema has a default: the server fills them in, so callers may leave them out. */
type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export type ErrorBody = Static<typeof ErrorSchema>;

/** A page of a list (`Type.Ref` items are typed here, since a ref's static type is unknown). */
export interface Page<T> {
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}
export type PageParams = Partial<PageQuery>;

export type Dataset = Static<typeof DatasetSchema>;
export type CreateDatasetInput = Static<typeof CreateDatasetBody>;
export type DatasetSource = CreateDatasetInput['source'];
export type DatasetStatus = Dataset['status'];
export type DatasetProgress = NonNullable<Dataset['progress']>;

export type Model = Static<typeof ModelSchema>;
export type RegisterModelInput = Static<typeof RegisterModelBody>;
export type SignedUrl = Static<typeof SignedUrlResponse>;
/** base/…: a graph-head's base graph (format graph-head). */
export type ModelFile = 'model.json' | 'weights.bin' | 'model.keras' | 'base/model.json' | 'base/weights.bin';

export type CreateUploadInput = Static<typeof CreateUploadBody>;
export type Upload = Static<typeof UploadResponse>;

/** The job's evaluation (apps/shared/jobs/evaluation.ts), with the scratch comparison when the job asked for one. */
export type { Comparison, EpochMetric, Evaluation };
type JobBase = Static<typeof JobSchema>;
/** `latestMetrics` is a `Type.Ref` in the schema, typed here. */
export type Job = Omit<JobBase, 'latestMetrics'> & { latestMetrics: EpochMetric | null };
export type JobStatus = Job['status'];
export type CreateJobInput = WithDefaults<Static<typeof CreateJobSchema>, 'type' | 'freeze'>;
export type JobListParams = Partial<JobListQuery>;

export interface JobMetrics {
  jobId: string;
  data: EpochMetric[];
}
export type JobCheckpoints = Static<typeof CheckpointsResponse>;
export type WebhookDeliveries = Static<typeof WebhookDeliveriesResponse>;

export type JobEvent = Static<typeof JobEventSchema>;
/** The same event with `data` typed by its `type` (apps/shared/jobs/events.ts): narrow on `type`. */
export type { JobEventData, JobEventType, TypedJobEvent };
export type JobEventParams = Partial<JobEventQuery>;
export interface JobEventPage extends Page<JobEvent> {
  jobId: string;
}
/** `data` of an `epoch` event. */
export type EpochEventData = JobEventData<'epoch'>;

export type Tenant = Static<typeof TenantSchema>;
export type CreateTenantInput = Static<typeof CreateTenantBody>;
export type ApiKey = Static<typeof ApiKeySchema>;
export type CreatedApiKey = Static<typeof CreatedApiKeySchema>;
export type CreateApiKeyInput = Static<typeof CreateKeyBody>;

/** GET /readyz: whether each dependency answers, and the live workers' backends. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
  workers: Array<{ id: string; backend: string }>;
}

export type { AdviceResponse as Advice } from '../api/src/schemas/advice.ts';
export type CreateAdviceInput = import('../shared/jobs/advice.ts').CreateAdvice;
export type { SweepResponse as Sweep, SweepTrialView as SweepTrial } from '../api/src/schemas/sweeps.ts';
/** POST /v1/sweeps: `job` is a job body as for jobs.create. */
export type CreateSweepInput = Omit<WithDefaults<import('../shared/sweeps/spec.ts').CreateSweep, 'method' | 'parallelism' | 'seed'>, 'job'> & { job: CreateJobInput };
export type SweepListParams = Partial<import('../api/src/schemas/sweeps.ts').SweepListQuery>;
