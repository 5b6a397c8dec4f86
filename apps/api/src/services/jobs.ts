import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import type { Job } from '../../../shared/generated/prisma/client.ts';
import { ConflictError, NotFoundError, TransientError, UnprocessableError } from '../../../shared/errors.ts';
import type { CreateJob, JobSpec } from '../../../shared/jobs/spec.ts';
import { JOB_NAME, jobOptions, type JobPayload } from '../../../shared/queue/contract.ts';
import type { JobListQuery, JobResponse } from '../schemas/jobs.ts';
import { planJob } from './job-planner.ts';
import { afterCursor, newestFirst, toPage } from './pagination.ts';

type JobWithOutput = Job & { outputModel?: { id: string } | null };

export function jobView(j: JobWithOutput): JobResponse {
  const spec = j.spec as unknown as JobSpec;
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
    spec: spec as unknown as Record<string, unknown>,
    progress: { epoch: j.epoch, totalEpochs: j.totalEpochs, fraction: j.progress },
    latestMetrics: (j.latestMetrics as JobResponse['latestMetrics']) ?? null,
    evaluation: (j.evaluation as Record<string, unknown>) ?? null,
    bestCheckpoint: (j.bestCheckpoint as JobResponse['bestCheckpoint']) ?? null,
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
  constructor(
    private readonly db: Db,
    private readonly queue: Queue<JobPayload>,
    private readonly config: Config,
  ) {}

  private async dataset(id: string | undefined) {
    if (!id) return undefined;
    const d = await this.db.dataset.findUnique({ where: { id } });
    // The body names something that isn't there: the request can't be carried out.
    if (!d) throw new UnprocessableError('dataset_not_found', `Dataset ${id} does not exist`, { id });
    return d;
  }

  async create(body: CreateJob): Promise<JobWithOutput> {
    const train = (await this.dataset(body.trainDatasetId))!;
    const [validation, test] = await Promise.all([this.dataset(body.validationDatasetId), this.dataset(body.testDatasetId)]);
    const id = randomUUID();
    // FOR SHARE on the base model: a concurrent DELETE (FOR UPDATE) waits, then sees this job.
    const job = await this.db.$transaction(async (tx) => {
      let baseModel;
      if (body.baseModelId) {
        const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${body.baseModelId}::uuid FOR SHARE`;
        baseModel = locked.length ? await tx.model.findUnique({ where: { id: body.baseModelId } }) : null;
        if (!baseModel) throw new UnprocessableError('model_not_found', `Model ${body.baseModelId} does not exist`, { id: body.baseModelId });
      }
      const spec = planJob({ body, train, validation, test, baseModel: baseModel ?? undefined, maxParams: this.config.maxModelParams });
      return tx.job.create({
        data: {
          id,
          type: spec.type,
          spec: spec as never,
          baseModelId: spec.baseModelId,
          trainDatasetId: spec.trainDatasetId,
          validationDatasetId: spec.validationDatasetId,
          testDatasetId: spec.testDatasetId,
          totalEpochs: spec.hyperparameters.epochs,
        },
        include: withOutput,
      });
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

  async get(id: string): Promise<JobWithOutput> {
    const j = await this.db.job.findUnique({ where: { id }, include: withOutput });
    if (!j) throw new NotFoundError('job', id);
    return j;
  }

  async list(q: JobListQuery) {
    const rows = await this.db.job.findMany({
      where: { ...(q.status ? { status: q.status } : {}), ...afterCursor(q.after) },
      orderBy: newestFirst,
      take: q.limit + 1,
      include: withOutput,
    });
    return toPage(rows, q.limit, jobView);
  }

  async metrics(id: string) {
    await this.get(id);
    return this.db.epochMetric.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } });
  }

  async checkpoints(id: string) {
    await this.get(id);
    return this.db.checkpoint.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } });
  }

  /** Queued: never starts. Running: the worker stops at its next batch boundary. */
  async cancel(id: string): Promise<JobWithOutput> {
    const now = new Date();
    const queued = await this.db.job.updateMany({
      where: { id, status: 'queued' },
      data: { status: 'cancelled', cancelRequestedAt: now, finishedAt: now, errorCode: 'job_cancelled', errorMessage: 'The job was cancelled before it started' },
    });
    if (queued.count > 0) {
      // Best effort: a worker that already took it will see the status and skip it.
      await this.queue.remove(id).catch(() => undefined);
      return this.get(id);
    }
    await this.db.job.updateMany({ where: { id, status: 'running', cancelRequestedAt: null }, data: { cancelRequestedAt: now } });
    const job = await this.get(id);
    if (job.status === 'succeeded' || job.status === 'failed') {
      throw new ConflictError('job_not_cancellable', `Job ${id} has already ${job.status}`, { status: job.status });
    }
    return job;
  }
}
