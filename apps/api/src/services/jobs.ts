import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import { ConflictError, NotFoundError, TooManyRequestsError, TransientError, UnprocessableError } from '../../../shared/errors.ts';
import { requireReady } from './datasets.ts';
import type { CreateJob } from '../../../shared/jobs/spec.ts';
import { JOB_NAME, jobOptions, type JobPayload } from '../../../shared/queue/contract.ts';
import { ensureEnqueued } from '../../../shared/queue/reconcile.ts';
import { jobEvent } from '../../../shared/jobs/events.ts';
import { JobStore, type Tx } from '../../../shared/jobs/job-store.ts';
import type { Dataset, Model } from '../../../shared/generated/prisma/client.ts';
import type { SqlPool } from '../../../shared/db/sql.ts';
import { decodeAttemptLog, decodeAutoRecord, decodeBestCheckpoint, decodeDeliveryStatus, decodeEvaluation, decodeLatestMetrics, decodeSpec } from '../../../shared/jobs/decode.ts';
import { checkWebhookUrl } from '../../../shared/net/outbound-url.ts';
import type { JobListQuery, JobResponse } from '../schemas/jobs.ts';
import { planJob } from './job-planner.ts';
import { toPage } from './pagination.ts';
import { JobReads, type JobViewRow } from './job-reads.ts';
import { isQueueFull, submitReads } from './job-submit-reads.ts';


/** The job as the API shows it; its JSON columns decoded here, once. */
export function jobView(row: JobViewRow): JobResponse {
  const j = {
    ...row,
    spec: decodeSpec(row.spec, row.id),
    evaluation: decodeEvaluation.nullable(row.evaluation, row.id),
    bestCheckpoint: decodeBestCheckpoint.nullable(row.bestCheckpoint, row.id),
    latestMetrics: decodeLatestMetrics.nullable(row.latestMetrics, row.id),
  };
  const spec = j.spec;
  return {
    id: j.id,
    type: j.type,
    name: spec.name ?? null,
    status: j.status,
    stage: j.stage,
    baseModelId: j.baseModelId,
    trainDatasetId: j.trainDatasetId,
    validationDatasetId: j.validationDatasetId,
    testDatasetId: j.testDatasetId,
    spec,
    progress: { epoch: j.epoch, totalEpochs: j.totalEpochs, fraction: j.progress },
    webhook: j.webhookUrl ? { url: j.webhookUrl } : null,
    latestMetrics: j.latestMetrics,
    evaluation: j.evaluation,
    bestCheckpoint: j.bestCheckpoint,
    auto: decodeAutoRecord.nullable(row.auto ?? null, row.id),
    outputModelId: j.outputModel?.id ?? null,
    backend: j.backend,
    attempts: j.attempts,
    error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '' } : null,
    cancelRequestedAt: j.cancelRequestedAt?.toISOString() ?? null,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    startedAt: j.startedAt?.toISOString() ?? null,
    finishedAt: j.finishedAt?.toISOString() ?? null,
    sweepId: j.sweepId ?? null,
  };
}

/** Ids that aren't UUIDs name no dataset (the uuid[] cast would fail on them). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class JobService {
  private readonly store: JobStore;
  private readonly reads: JobReads;

  constructor(
    private readonly db: Db,
    private readonly sql: SqlPool,
    private readonly queue: Queue<JobPayload>,
    private readonly config: Config,
  ) {
    this.store = new JobStore(db);
    this.reads = new JobReads(sql);
  }

  /** The submit's datasets, each the tenant's; one a body names that isn't there is a 422. */
  private datasets(body: CreateJob, found: Dataset[]) {
    const pick = (id: string | undefined) => {
      if (!id) return undefined;
      const d = found.find((x) => x.id === id);
      // The body names something that isn't there: the request can't be carried out.
      if (!d) throw new UnprocessableError('dataset_not_found', `Dataset ${id} does not exist`, { id });
      return requireReady(d);
    };
    return { train: pick(body.trainDatasetId)!, validation: pick(body.validationDatasetId), test: pick(body.testDatasetId) };
  }

  /**
   * Two SQL statements without a base model (the queued count and the datasets; the place in
   * the queue, the job and its event), then the queue's one script call. With a base model the
   * insert runs in a transaction that holds the model FOR SHARE, so a concurrent DELETE (FOR
   * UPDATE) waits, then sees this job.
   */
  async create(tenantId: string, body: CreateJob): Promise<JobViewRow> {
    // Before anything is read or written: a refused webhook (422) leaves no trace.
    if (body.webhook) checkWebhookUrl(body.webhook.url, this.config.webhooks);
    const ids = [body.trainDatasetId, body.validationDatasetId, body.testDatasetId].filter((x): x is string => !!x && UUID.test(x));
    const quota = this.config.limits.queuedJobsPerTenant;
    const { waiting, datasets } = await submitReads(this.sql, tenantId, ids);
    const overQuota = () => new TooManyRequestsError('too_many_queued_jobs', `This tenant already has ${quota} or more queued or paused jobs (MAX_QUEUED_JOBS_PER_TENANT)`, 30, { limit: quota });
    if (waiting >= quota) throw overQuota();
    const { train, validation, test } = this.datasets(body, datasets);
    const id = randomUUID();
    const insert = (baseModel: Model | undefined, tx?: Tx) => {
      const spec = planJob({ body, train, validation, test, baseModel, maxParams: this.config.maxModelParams, maxLayers: this.config.limits.modelLayers, maxEpochExamples: this.config.limits.epochExamples });
      return this.reads.insert(this.store, {
        id,
        tenantId,
        type: spec.type,
        spec,
        baseModelId: spec.baseModelId,
        trainDatasetId: spec.trainDatasetId,
        validationDatasetId: spec.validationDatasetId,
        testDatasetId: spec.testDatasetId,
        totalEpochs: spec.hyperparameters.epochs,
        webhookUrl: body.webhook?.url,
        webhookSecret: body.webhook?.secret,
        // The exact check: the insert takes a place under the quota or fails, writing nothing.
        queuedQuota: quota,
      }, tx);
    };
    let job: JobViewRow;
    try {
      job = body.baseModelId
        ? await this.db.$transaction(async (tx) => {
          const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${body.baseModelId}::uuid AND "tenantId" = ${tenantId}::uuid FOR SHARE`;
          const baseModel = locked.length ? await tx.model.findUnique({ where: { id: body.baseModelId } }) : null;
          if (!baseModel) throw new UnprocessableError('model_not_found', `Model ${body.baseModelId} does not exist`, { id: body.baseModelId });
          return insert(baseModel, tx);
        })
        : await insert(undefined);
    } catch (err) {
      throw isQueueFull(err) ? overQuota() : err;
    }
    try {
      await this.queue.add(JOB_NAME, { jobId: id }, jobOptions(this.config, id));
    } catch (err) {
      // Not enqueued means not accepted: remove the record rather than leave a job nothing will run.
      await this.db.job.delete({ where: { id } }).catch(() => undefined);
      throw new TransientError('queue_unavailable', `Could not enqueue the job: ${(err as Error).message}`);
    }
    return job;
  }

  /** Another tenant's job is not found, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<JobViewRow> {
    const j = await this.reads.get(tenantId, id);
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  /** The job and its version, for an ETag; not found as get(). */
  async getVersioned(tenantId: string, id: string) {
    const j = await this.reads.getVersioned(tenantId, id);
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  /** Only the job's version; not found as get(). */
  async version(tenantId: string, id: string): Promise<string> {
    const v = await this.reads.version(tenantId, id);
    if (v === null) throw new NotFoundError('job', id);
    return v;
  }

  async list(tenantId: string, q: JobListQuery) {
    const rows = await this.reads.page(tenantId, { status: q.status, sweepId: q.sweepId, after: q.after, take: q.limit + 1 });
    return toPage(rows, q.limit, jobView);
  }

  async metrics(tenantId: string, id: string) {
    await this.get(tenantId, id);
    return this.db.epochMetric.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } });
  }

  async checkpoints(tenantId: string, id: string) {
    await this.get(tenantId, id);
    return this.db.checkpoint.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } });
  }

  /** The job's webhook deliveries, oldest first, their status decoded. */
  async webhookDeliveries(tenantId: string, id: string) {
    await this.get(tenantId, id);
    const rows = await this.db.webhookDelivery.findMany({ where: { jobId: id }, orderBy: { createdAt: 'asc' } });
    return rows.map((d) => ({ ...d, status: decodeDeliveryStatus(d.status, d.id), attemptLog: decodeAttemptLog(d.attemptLog, d.id) }));
  }

  /** The job's status now, for a stream deciding whether to end; null once it is gone. */
  async status(id: string) {
    return (await this.db.job.findUnique({ where: { id }, select: { status: true } }))?.status ?? null;
  }

  /**
   * Queued or paused: never runs again. Running: whichever worker holds it
   * stops at its next batch boundary (it polls Postgres), keeping its checkpoints.
   */
  async cancel(tenantId: string, id: string): Promise<JobViewRow> {
    const now = new Date();
    const idle = await this.store.cancel(this.db, id, ['queued', 'paused'], { cancelRequestedAt: now }, { where: { tenantId } });
    if (idle) {
      // Best effort: a worker that already took it will see the status and skip it.
      await this.queue.remove(id).catch(() => undefined);
      return this.get(tenantId, id);
    }
    await this.db.$transaction(async (tx) => {
      const n = await tx.job.updateMany({ where: { id, tenantId, status: 'running', cancelRequestedAt: null }, data: { cancelRequestedAt: now } });
      if (n.count > 0) await jobEvent(tx, id, 'cancel_requested', {});
    });
    const job = await this.get(tenantId, id);
    if (job.status === 'succeeded' || job.status === 'failed') {
      throw new ConflictError('job_not_cancellable', `Job ${id} has already ${job.status}`, { status: job.status });
    }
    return job;
  }

  /** Queued: set aside at once. Running: its worker checkpoints at the next batch boundary and lets it go. */
  async pause(tenantId: string, id: string): Promise<JobViewRow> {
    if (await this.store.transition(this.db, id, 'queued', 'paused', {}, { where: { tenantId } })) {
      await this.queue.remove(id).catch(() => undefined);
      return this.get(tenantId, id);
    }
    await this.store.requestInterrupt({ id, tenantId, status: 'running', cancelRequestedAt: null }, 'pause');
    const job = await this.get(tenantId, id);
    if (job.status !== 'running' && job.status !== 'paused') {
      throw new ConflictError('job_not_pausable', `Job ${id} is ${job.status}; only queued and running jobs can be paused`, { status: job.status });
    }
    return job;
  }

  /** A paused job goes back to the queue and continues from its checkpoint on any worker. */
  async resume(tenantId: string, id: string): Promise<JobViewRow> {
    const resumed = await this.store.transition(this.db, id, 'paused', 'queued', { interruptRequest: null }, { where: { tenantId }, event: { resumed: true } });
    if (!resumed) {
      const job = await this.get(tenantId, id);
      throw new ConflictError('job_not_paused', `Job ${id} is ${job.status}; only a paused job can be resumed`, { status: job.status });
    }
    try {
      await ensureEnqueued(this.queue, this.config, id);
    } catch (err) {
      // Postgres says queued; the workers' reconciler enqueues it once Redis is back.
      throw new TransientError('queue_unavailable', `The job is queued but could not be handed to the queue yet: ${(err as Error).message}`);
    }
    return this.get(tenantId, id);
  }

  /** The job's events in order, after an event id. */
  async events(tenantId: string, id: string, after: bigint, limit: number) {
    await this.get(tenantId, id);
    return this.eventsAfter(id, after, limit);
  }

  eventsAfter(id: string, after: bigint, limit: number) {
    return this.db.jobEvent.findMany({ where: { jobId: id, id: { gt: after } }, orderBy: { id: 'asc' }, take: limit });
  }
}
