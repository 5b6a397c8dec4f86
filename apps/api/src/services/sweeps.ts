// Sweeps (docs/sweeps.md): every trial planned and checked as a job when the
// sweep is posted (a bad cut or head is a 422 now), stored with the sweep, and
// started as a job when a slot frees (shared/sweeps/advance.ts). Reads join the
// trials with their jobs into a leaderboard.
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { Value } from '@sinclair/typebox/value';
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import { AppError, ConflictError, LimitExceededError, NotFoundError, TooManyRequestsError, UnprocessableError } from '../../../shared/errors.ts';
import type { Model, Sweep } from '../../../shared/generated/prisma/client.ts';
import { toJson, decodeSpec, StoredJsonError } from '../../../shared/jobs/decode.ts';
import type { JobSpec } from '../../../shared/jobs/spec.ts';
import type { JobPayload } from '../../../shared/queue/contract.ts';
import { advanceSweep, objectiveOf, ranked, readTrials, type TrialRow } from '../../../shared/sweeps/advance.ts';
import { checkSpace, planTrials, trialBody, trialCount } from '../../../shared/sweeps/plan.ts';
import { queuedCount } from '../../../shared/sweeps/quota.ts';
import { directionOf, TrialComputeSchema, type CreateSweep, type SweepSpec } from '../../../shared/sweeps/spec.ts';
import type { SweepListQuery, SweepResponse, SweepTrialView } from '../schemas/sweeps.ts';
import { requireReady } from './datasets.ts';
import { planJob } from './job-planner.ts';
import type { JobService } from './jobs.ts';
import { afterCursor, newestFirst, toPage } from './pagination.ts';

const ASHA_DEFAULTS = { minEpochs: 1, reductionFactor: 3 };

export class SweepService {
  constructor(
    private readonly db: Db,
    private readonly queue: Queue<JobPayload>,
    private readonly config: Config,
    private readonly jobs: JobService,
  ) {}

  /** The request with its defaults, checked against what the schema cannot say. */
  private normalise(body: CreateSweep): SweepSpec {
    const metric = body.objective?.metric ?? 'valAccuracy';
    const direction = directionOf(metric);
    if (body.objective?.direction && body.objective.direction !== direction) {
      throw new UnprocessableError('invalid_sweep_objective', `${metric} is better ${direction === 'max' ? 'higher' : 'lower'}; direction must be ${direction}`, { metric, direction });
    }
    const { limits } = this.config;
    if (body.parallelism > limits.sweepParallelism) {
      throw new LimitExceededError('sweep_too_large', `parallelism ${body.parallelism}`, 422, 'MAX_SWEEP_PARALLELISM', limits.sweepParallelism, body.parallelism);
    }
    const spec: SweepSpec = {
      ...(body.name ? { name: body.name } : {}),
      job: body.job, method: body.method, space: body.space, objective: { metric, direction }, maxTrials: 0, parallelism: body.parallelism, seed: body.seed,
      earlyStopping: body.earlyStopping === false ? false : { ...ASHA_DEFAULTS, ...body.earlyStopping },
    };
    checkSpace(spec);
    spec.maxTrials = trialCount({ ...spec, maxTrials: body.maxTrials }, limits.sweepTrials);
    return spec;
  }

  private async dataset(tenantId: string, id: string | undefined) {
    if (!id) return undefined;
    const d = await this.db.dataset.findFirst({ where: { id, tenantId } });
    if (!d) throw new UnprocessableError('dataset_not_found', `Dataset ${id} does not exist`, { id });
    return requireReady(d);
  }

  async create(tenantId: string, body: CreateSweep): Promise<SweepResponse> {
    const spec = this.normalise(body);
    // An early refusal; each trial's start checks the limit again, exactly (queuedRoom).
    const waiting = await queuedCount(this.db, tenantId);
    if (waiting + Math.min(spec.parallelism, spec.maxTrials) > this.config.limits.queuedJobsPerTenant) {
      throw new TooManyRequestsError('too_many_queued_jobs', `This tenant already has ${waiting} queued or paused jobs (MAX_QUEUED_JOBS_PER_TENANT)`, 30, { limit: this.config.limits.queuedJobsPerTenant });
    }
    const train = (await this.dataset(tenantId, body.job.trainDatasetId))!;
    const [validation, test] = [await this.dataset(tenantId, body.job.validationDatasetId), await this.dataset(tenantId, body.job.testDatasetId)];
    const id = randomUUID();
    await this.db.$transaction(async (tx) => {
      let baseModel: Model | undefined;
      if (body.job.baseModelId) {
        const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${body.job.baseModelId}::uuid AND "tenantId" = ${tenantId}::uuid FOR SHARE`;
        baseModel = locked.length ? (await tx.model.findUnique({ where: { id: body.job.baseModelId } })) ?? undefined : undefined;
        if (!baseModel) throw new UnprocessableError('model_not_found', `Model ${body.job.baseModelId} does not exist`, { id: body.job.baseModelId });
      }
      const trials = planTrials(spec, spec.maxTrials).map((params, index) => {
        const jobSpec = this.planTrial({ body: trialBody(spec, params, index, train.labels.length), train, validation, test, baseModel }, index);
        return { sweepId: id, index, params: params as object, spec: toJson(decodeSpec, checkedTrial(jobSpec, index)) as object, featureGroup: featureGroup(jobSpec) };
      });
      checkObjective(spec, decodeSpec(trials[0].spec, id));
      await tx.sweep.create({ data: { id, tenantId, name: spec.name ?? null, spec: JSON.parse(JSON.stringify(spec)) as object } });
      await tx.sweepTrial.createMany({ data: trials });
    });
    await advanceSweep(this.db, this.queue, this.config, id);
    return this.get(tenantId, id);
  }

  /** planJob for one trial; its error names the trial. */
  private planTrial(inputs: Omit<Parameters<typeof planJob>[0], 'maxParams'>, index: number): JobSpec {
    try {
      return planJob({ ...inputs, maxParams: this.config.maxModelParams, maxLayers: this.config.limits.modelLayers, maxEpochExamples: this.config.limits.epochExamples });
    } catch (err) {
      if (err instanceof AppError) err.message = `Trial ${index}: ${err.message}`;
      throw err;
    }
  }

  async get(tenantId: string, id: string): Promise<SweepResponse> {
    const s = await this.db.sweep.findFirst({ where: { id, tenantId } });
    if (!s) throw new NotFoundError('sweep', id);
    return sweepView(s, await readTrials(this.db, id));
  }

  async list(tenantId: string, q: SweepListQuery) {
    const rows = await this.db.sweep.findMany({ where: { tenantId, ...(q.status ? { status: q.status as Sweep['status'] } : {}), ...afterCursor(q.after) }, orderBy: newestFirst, take: q.limit + 1 });
    const trials = new Map(await Promise.all(rows.slice(0, q.limit).map(async (s) => [s.id, await readTrials(this.db, s.id)] as const)));
    return toPage(rows, q.limit, (s) => sweepView(s, trials.get(s.id) ?? []));
  }

  /** No more trials start; the live ones are cancelled as jobs are; the sweep ends cancelled once they have. */
  async cancel(tenantId: string, id: string): Promise<SweepResponse> {
    // The status is checked in the update itself: a sweep that ends between a read and the update is not marked.
    const marked = await this.db.sweep.updateMany({ where: { id, tenantId, status: 'running', cancelRequestedAt: null }, data: { cancelRequestedAt: new Date() } });
    if (marked.count === 0) {
      const s = await this.db.sweep.findFirst({ where: { id, tenantId } });
      if (!s) throw new NotFoundError('sweep', id);
      if (s.status === 'succeeded' || s.status === 'failed') throw new ConflictError('sweep_not_cancellable', `Sweep ${id} has already ${s.status}`, { status: s.status });
    }
    const live = await this.db.job.findMany({ where: { sweepId: id, tenantId, status: { in: ['queued', 'running', 'paused'] } }, select: { id: true } });
    for (const j of live) await this.jobs.cancel(tenantId, j.id).catch((err) => { if (!(err instanceof ConflictError)) throw err; });
    await advanceSweep(this.db, this.queue, this.config, id);
    return this.get(tenantId, id);
  }
}

/** The cut of a trial whose base stays frozen throughout: trials of one group share one feature pass. */
function featureGroup(spec: JobSpec): string | null {
  const a = spec.hyperparameters.augmentation;
  const augmented = !!a && Object.values(a).some((v) => !!v);
  return spec.type === 'finetune' && spec.freeze === 'all' && !augmented ? spec.cutLayer ?? '' : null;
}

/** A trial's job must be one advanceSweep's decodeSpec takes, or advanceSweep could never start it (a 500 on every round). */
function checkedTrial(spec: JobSpec, index: number): JobSpec {
  try {
    return decodeSpec(spec, `trial ${index}`);
  } catch (err) {
    if (!(err instanceof StoredJsonError)) throw err;
    throw new UnprocessableError('invalid_sweep_space', `Trial ${index}: ${err.fault}`, { trial: index, field: err.fault.split(':')[0] });
  }
}

function checkObjective(spec: SweepSpec, first: JobSpec): void {
  const validated = !!first.validationDatasetId || first.hyperparameters.validationSplit > 0;
  if (spec.objective.metric.startsWith('val') && !validated) {
    throw new UnprocessableError('invalid_sweep_objective', `${spec.objective.metric} needs validation data: a validation dataset or hyperparameters.validationSplit above 0`, { metric: spec.objective.metric });
  }
}

function trialView(t: TrialRow, spec: SweepSpec): SweepTrialView {
  const best = t.job?.bestCheckpoint as { epoch?: number } | null | undefined;
  return {
    index: t.index,
    jobId: t.jobId,
    status: t.job?.status ?? 'pending',
    params: t.params as Record<string, unknown>,
    objective: objectiveOf(t, spec),
    bestEpoch: best?.epoch ?? null,
    epochsRun: t.job?.epoch ?? 0,
    stoppedEarly: t.prunedAtEpoch !== null,
    prunedAtEpoch: t.prunedAtEpoch,
    features: t.features === 'computed' || t.features === 'reused' ? t.features : null,
    compute: Value.Check(TrialComputeSchema, t.compute) ? t.compute : null,
    outputModelId: t.job?.outputModel?.id ?? null,
  };
}

export function sweepView(s: Sweep, trials: TrialRow[]): SweepResponse {
  const spec = s.spec as unknown as SweepSpec;
  const order = ranked(trials, spec);
  const rest = trials.filter((t) => !order.includes(t));
  const leaderboard = [...order, ...rest].map((t) => trialView(t, spec));
  const count = (f: (t: SweepTrialView) => boolean) => leaderboard.filter(f).length;
  const best = s.bestJobId ? leaderboard.find((t) => t.jobId === s.bestJobId) ?? null : null;
  return {
    id: s.id, name: s.name, status: s.status, method: spec.method, space: spec.space, objective: spec.objective, maxTrials: spec.maxTrials,
    parallelism: spec.parallelism, seed: spec.seed, earlyStopping: spec.earlyStopping,
    trials: {
      pending: count((t) => t.status === 'pending'), queued: count((t) => t.status === 'queued'), running: count((t) => t.status === 'running'),
      paused: count((t) => t.status === 'paused'), succeeded: count((t) => t.status === 'succeeded'), failed: count((t) => t.status === 'failed'),
      cancelled: count((t) => t.status === 'cancelled'), stoppedEarly: count((t) => t.stoppedEarly),
    },
    featurePasses: { computed: count((t) => t.features === 'computed'), reused: count((t) => t.features === 'reused') },
    leaderboard,
    bestTrial: best,
    outputModelId: best?.outputModelId ?? null,
    computeUsed: leaderboard.reduce((n, t) => n + (t.compute?.exampleLayers ?? 0), 0),
    error: s.errorCode ? { code: s.errorCode, message: s.errorMessage ?? '' } : null,
    cancelRequestedAt: s.cancelRequestedAt?.toISOString() ?? null,
    createdAt: s.createdAt.toISOString(),
    finishedAt: s.finishedAt?.toISOString() ?? null,
  };
}
