import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import { ConflictError, NotFoundError, TooManyRequestsError, TransientError, UnprocessableError } from '../../../shared/errors.ts';
import type { CreateJob } from '../../../shared/jobs/spec.ts';
import { JOB_NAME, jobOptions, type JobPayload } from '../../../shared/queue/contract.ts';
import { ensureEnqueued } from '../../../shared/queue/reconcile.ts';
import { jobEvent } from '../../../shared/jobs/events.ts';
import { JobStore } from '../../../shared/jobs/job-store.ts';
import { decodeAttemptLog, decodeBestCheckpoint, decodeDeliveryStatus, decodeEvaluation, decodeLatestMetrics, decodeSpec } from '../../../shared/jobs/decode.ts';
import { checkWebhookUrl } from '../../../shared/net/outbound-url.ts';
import type { JobListQuery, JobResponse } from '../schemas/jobs.ts';
import { planJob } from './job-planner.ts';
import { toPage } from './pagination.ts';
import { JobReads, type JobViewRow } from './job-reads.ts';


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
    outputModelId: j.outputModel?.id ?? null,
    backend: j.backend,
    attempts: j.attempts,
    error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '' } : null,
    cancelRequestedAt: j.cancelRequestedAt?.toISOString() ?? null,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    startedAt: j.startedAt?.toISOString() ?? null,
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}

const withOutput = { outputModel: { select: { id: true } } };

export class JobService {
  private readonly store: JobStore;
  private readonly reads: JobReads;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<JobPayload>,
    private readonly config: Config,
  ) {
    this.store = new JobStore(db);
    this.reads = new JobReads(db);
  }

  private async dataset(tenantId: string, id: string | undefined) {
    if (!id) return undefined;
    const d = await this.db.dataset.findFirst({ where: { id, tenantId } });
    // The body names something that isn't there: the request can't be carried out.
    if (!d) throw new UnprocessableError('dataset_not_found', `Dataset ${id} does not exist`, { id });
    // An image registration still running, or one that failed: no job may read it.
    if (d.status !== 'ready') throw new ConflictError('dataset_not_ready', `Dataset ${id} is ${d.status}; a job needs a ready dataset`, { id, status: d.status });
    return d;
  }

  async create(tenantId: string, body: CreateJob): Promise<JobViewRow> {
    // Before anything is read or written: a refused webhook (422) leaves no trace.
    if (body.webhook) checkWebhookUrl(body.webhook.url, this.config.webhooks);
    const waiting = await this.db.job.count({ where: { tenantId, status: { in: ['queued', 'paused'] } } });
    if (waiting >= this.config.limits.queuedJobsPerTenant) {
      throw new TooManyRequestsError('too_many_queued_jobs', `This tenant already has ${waiting} queued or paused jobs (MAX_QUEUED_JOBS_PER_TENANT)`, 30, { limit: this.config.limits.queuedJobsPerTenant });
    }
    const train = (await this.dataset(tenantId, body.trainDatasetId))!;
    const [validation, test] = await Promise.all([this.dataset(tenantId, body.validationDatasetId), this.dataset(tenantId, body.testDatasetId)]);
    const id = randomUUID();
    // FOR SHARE on the base model: a concurrent DELETE (FOR UPDATE) waits, then sees this job.
    const job = await this.db.$transaction(async (tx) => {
      let baseModel;
      if (body.baseModelId) {
        const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${body.baseModelId}::uuid AND "tenantId" = ${tenantId}::uuid FOR SHARE`;
        baseModel = locked.length ? await tx.model.findUnique({ where: { id: body.baseModelId } }) : null;
        if (!baseModel) throw new UnprocessableError('model_not_found', `Model ${body.baseModelId} does not exist`, { id: body.baseModelId });
      }
      const spec = planJob({ body, train, validation, test, baseModel: baseModel ?? undefined, maxParams: this.config.maxModelParams, maxLayers: this.config.limits.modelLayers, maxEpochExamples: this.config.limits.epochExamples });
      await this.store.create(tx, {
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
      });
      return tx.job.findUniqueOrThrow({ where: { id }, include: withOutput });
    });
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

  async list(tenantId: string, q: JobListQuery) {
    const rows = await this.reads.page(tenantId, { status: q.status, after: q.after, take: q.limit + 1 });
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
