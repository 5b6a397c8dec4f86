// Advice requests: a job of type advice, checked like a fine-tuning job (the
// base, the datasets, the shapes: planJob), stored and queued like one, so it
// is leased, cancelled, retried, scoped to its tenant and idempotent as jobs
// are. The worker measures; its result sits in JobAdvice beside the job row.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Value } from '@sinclair/typebox/value';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import { NotFoundError, TooManyRequestsError, TransientError, UnprocessableError } from '../../../shared/errors.ts';
import { requireReady } from './datasets.ts';
import { AdviceBudgetSchema, AdviceSchema, type CreateAdvice } from '../../../shared/jobs/advice.ts';
import { decodeSpec } from '../../../shared/jobs/decode.ts';
import { JobStore } from '../../../shared/jobs/job-store.ts';
import { JOB_NAME, jobOptions, type JobPayload } from '../../../shared/queue/contract.ts';
import { queuedCount, queuedRoom } from '../../../shared/sweeps/quota.ts';
import type { AdviceResponse } from '../schemas/advice.ts';
import { planJob } from './job-planner.ts';

const include = { advice: true } as const;

export class AdviceService {
  constructor(
    private readonly db: Db,
    private readonly queue: Queue<JobPayload>,
    private readonly config: Config,
  ) {}

  private async dataset(tenantId: string, id: string | undefined) {
    if (!id) return undefined;
    const d = await this.db.dataset.findFirst({ where: { id, tenantId } });
    if (!d) throw new UnprocessableError('dataset_not_found', `Dataset ${id} does not exist`, { id });
    return requireReady(d);
  }

  async create(tenantId: string, body: CreateAdvice): Promise<AdviceResponse> {
    // An early refusal, before the datasets' errors; the insert below checks again, exactly.
    const waiting = await queuedCount(this.db, tenantId);
    if (waiting >= this.config.limits.queuedJobsPerTenant) {
      throw new TooManyRequestsError('too_many_queued_jobs', `This tenant already has ${waiting} queued or paused jobs (MAX_QUEUED_JOBS_PER_TENANT)`, 30, { limit: this.config.limits.queuedJobsPerTenant });
    }
    const train = (await this.dataset(tenantId, body.trainDatasetId))!;
    const validation = await this.dataset(tenantId, body.validationDatasetId);
    const budget = Value.Default(AdviceBudgetSchema, { ...body.budget }) as AdviceResponse['budget'];
    const id = randomUUID();
    await this.db.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${body.baseModelId}::uuid AND "tenantId" = ${tenantId}::uuid FOR SHARE`;
      const baseModel = locked.length ? await tx.model.findUnique({ where: { id: body.baseModelId } }) : null;
      if (!baseModel) throw new UnprocessableError('model_not_found', `Model ${body.baseModelId} does not exist`, { id: body.baseModelId });
      // The advisor measures cut layers of a LayersModel; a graph's nodes are not layers it can cut.
      if (baseModel.format !== 'layers-model') throw new UnprocessableError('model_unsupported', 'Advice is for LayersModel bases; this base is a TensorFlow.js Graph model (or a head on one)', { fault: 'graph_model', format: baseModel.format });
      // The spec of the frozen fine-tuning job the advice measures from: the same checks, the same worker data path.
      const planned = planJob({
        body: { type: 'finetune', freeze: 'all', baseModelId: body.baseModelId, trainDatasetId: body.trainDatasetId, validationDatasetId: body.validationDatasetId, hyperparameters: { validationSplit: 0, seed: body.seed ?? 42, epochs: 1 } },
        train, validation, baseModel, maxParams: this.config.maxModelParams, maxLayers: this.config.limits.modelLayers, maxEpochExamples: this.config.limits.epochExamples,
      });
      const spec = { ...planned, advice: budget };
      // Exact, as a submit's insert is: the stripes stay locked until this job is in. Taken
      // after the Model lock, in a submit's order (Model, then stripes), so the two cannot deadlock.
      if ((await queuedRoom(tx, tenantId, this.config.limits.queuedJobsPerTenant)) < 1) {
        throw new TooManyRequestsError('too_many_queued_jobs', 'This tenant already has MAX_QUEUED_JOBS_PER_TENANT queued or paused jobs', 30, { limit: this.config.limits.queuedJobsPerTenant });
      }
      await new JobStore(this.db).create(tx, { id, tenantId, type: 'advice', spec, baseModelId: spec.baseModelId, trainDatasetId: spec.trainDatasetId, validationDatasetId: spec.validationDatasetId, totalEpochs: 0 });
    });
    try {
      await this.queue.add(JOB_NAME, { jobId: id }, jobOptions(this.config, id));
    } catch (err) {
      await this.db.job.delete({ where: { id } }).catch(() => undefined);
      throw new TransientError('queue_unavailable', `Could not enqueue the advice: ${(err as Error).message}`);
    }
    return this.get(tenantId, id);
  }

  /** Another tenant's advice, or a job that is not advice, is not found. */
  async get(tenantId: string, id: string): Promise<AdviceResponse> {
    const j = await this.db.job.findFirst({ where: { id, tenantId, type: 'advice' }, include });
    if (!j) throw new NotFoundError('advice', id);
    const spec = decodeSpec(j.spec, j.id);
    const advice = j.advice && Value.Check(AdviceSchema, j.advice.advice) ? j.advice.advice : null;
    return {
      id: j.id,
      status: j.status,
      stage: j.stage,
      baseModelId: j.baseModelId,
      trainDatasetId: j.trainDatasetId,
      validationDatasetId: j.validationDatasetId,
      budget: spec.advice ?? Value.Default(AdviceBudgetSchema, {}) as AdviceResponse['budget'],
      advice,
      error: j.errorCode ? { code: j.errorCode, message: j.errorMessage ?? '' } : null,
      createdAt: j.createdAt.toISOString(),
      finishedAt: j.finishedAt?.toISOString() ?? null,
    };
  }
}
