// Runs one job through load → freeze → train → evaluate, keeping Postgres and
// S3 up to date as it goes. Knows nothing of HTTP; BullMQ only calls it.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db/prisma.ts';
import { Prisma } from '../../shared/generated/prisma/client.ts';
import { AppError, UnprocessableError } from '../../shared/errors.ts';
import type { JobSpec } from '../../shared/jobs/spec.ts';
import type { Logger } from '../../shared/logger.ts';
import { s3IOHandler } from '../../shared/ml/s3-io-handler.ts';
import { summarize } from '../../shared/ml/model-summary.ts';
import type { BackendInfo } from '../../shared/ml/tf.ts';
import type { StoredSource } from '../../shared/data/dataset-source.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { JobRecords } from './job-records.ts';
import { loadJobData, type JobData } from './job-data.ts';
import { featureKey, readFeatures, writeFeatures, type Features } from './feature-cache.ts';
import { predictBatched } from './pipeline/scoring.ts';
import { tf } from '../../shared/ml/tf.ts';
import type { Tensor } from '@tensorflow/tfjs';
import { buildModel } from './pipeline/build.ts';
import { evaluate, type Evaluation } from './pipeline/evaluate.ts';
import { disposeParts, freeze, type ModelParts } from './pipeline/freeze.ts';
import { compare, fromScratch, type Comparison } from './pipeline/compare.ts';
import { withSeededRandom } from './pipeline/seed.ts';
import { loadModel } from './pipeline/load.ts';
import { train } from './pipeline/train.ts';
import type { TrainingPeers } from './parallel/training-peers.ts';

export interface RunContext {
  db: Db;
  storage: Storage;
  log: Logger;
  backend: BackendInfo;
  cancelPollMs: number;
  /** Data-parallel peer threads, for training sets of at least minExamples. */
  parallel?: { peers(): Promise<TrainingPeers>; minExamples: number };
}

export interface Attempt {
  /** Attempts before this one. */
  attemptsMade: number;
  maxAttempts: number;
}

export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'retry';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** tfjs reports a missing kernel as a plain Error; it is a property of the job, not a blip. */
export function classify(err: unknown, backend: BackendInfo): unknown {
  const kernel = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec((err as Error)?.message ?? '');
  if (kernel) {
    return new UnprocessableError(
      'kernel_unavailable',
      `The ${kernel[2]} backend has no ${kernel[1]} kernel, which this job's trainable layers need. Freeze those layers, or run the worker with another TF_BACKEND.`,
      { kernel: kernel[1], backend: backend.kind },
    );
  }
  return err;
}

export function throttle(check: () => Promise<boolean>, everyMs: number): () => Promise<boolean> {
  let last = 0;
  let value = false;
  return async () => {
    const now = Date.now();
    if (!value && now - last >= everyMs) {
      last = now;
      value = await check();
    }
    return value;
  };
}

/** A frozen base's features: from the S3 cache when another job computed them, else computed and cached. */
async function cachedFeatures(ctx: RunContext, parts: ModelParts, data: JobData, key: string, peers?: TrainingPeers): Promise<{ features: Features; hit: boolean }> {
  const cached = await readFeatures(ctx.storage, key);
  if (cached && cached.train.shape[0] === data.train.x.shape[0] && (cached.validation?.shape[0] ?? 0) === (data.validation?.x.shape[0] ?? 0)) {
    return { features: cached, hit: true };
  }
  if (cached) tf.dispose([cached.train, ...(cached.validation ? [cached.validation] : [])]);
  const baseOutput = async (x: Tensor) => {
    if (!peers) return predictBatched(parts.base!, x);
    await peers.load(parts);
    return peers.features(parts.base!, x);
  };
  const features: Features = {
    train: await baseOutput(data.train.x),
    validation: data.validation ? await baseOutput(data.validation.x) : undefined,
  };
  // The cache only saves time: a failed write must not fail the job.
  await writeFeatures(ctx.storage, key, features).catch((err: Error) => ctx.log.warn({ err: err.message, key }, 'could not cache base features'));
  return { features, hit: false };
}

export async function runJob(ctx: RunContext, jobId: string, attempt: Attempt): Promise<RunOutcome> {
  const log = ctx.log.child({ jobId });
  const job = await ctx.db.job.findUnique({
    where: { id: jobId },
    include: { baseModel: true, trainDataset: true, validationDataset: true, testDataset: true },
  });
  if (!job || TERMINAL.has(job.status)) {
    log.info({ status: job?.status }, 'nothing to run');
    return 'skipped';
  }
  const records = new JobRecords(ctx.db, jobId);
  // Claim it unless it was cancelled while queued.
  const claimed = await ctx.db.job.updateMany({
    where: { id: jobId, status: { in: ['queued', 'running'] }, cancelRequestedAt: null },
    data: { status: 'running', startedAt: job.startedAt ?? new Date(), attempts: { increment: 1 }, backend: ctx.backend.kind, errorCode: null, errorMessage: null },
  });
  if (claimed.count === 0) {
    if (job.cancelRequestedAt) await records.finishCancelled();
    return job.cancelRequestedAt ? 'cancelled' : 'skipped';
  }
  if (job.attempts > 0) {
    // A retry starts over: drop what the earlier attempt recorded, so metrics match the epochs run.
    await ctx.db.$transaction([
      ctx.db.epochMetric.deleteMany({ where: { jobId } }),
      ctx.db.checkpoint.deleteMany({ where: { jobId } }),
      ctx.db.job.update({ where: { id: jobId }, data: { epoch: 0, progress: 0, latestMetrics: Prisma.DbNull, stage: null, evaluation: Prisma.DbNull } }),
    ]);
  }
  log.info({ type: job.type, attempt: attempt.attemptsMade + 1, backend: ctx.backend.kind }, 'job started');

  const spec = job.spec as unknown as JobSpec;
  const hp = spec.hyperparameters;
  let parts: ModelParts | undefined;
  let scratch: ModelParts | undefined;
  let features: { features: Features; hit: boolean } | undefined;
  // Time spent getting the frozen base's features counts towards fine-tuning's wall time.
  let featureMs = 0;
  const shouldStop = throttle(() => records.cancelRequested(), ctx.cancelPollMs);
  const data = await loadJobData(ctx.storage, spec.labels, { source: job.trainDataset.source as StoredSource }, {
    validation: job.validationDataset ? { source: job.validationDataset.source as StoredSource } : undefined,
    test: job.testDataset ? { source: job.testDataset.source as StoredSource } : undefined,
    validationSplit: hp.validationSplit,
    seed: hp.seed,
  }).catch(async (err) => fail(err));
  if (typeof data === 'string') return data;

  async function fail(raw: unknown): Promise<RunOutcome> {
    const err = classify(raw, ctx.backend);
    const app = err instanceof AppError ? err : undefined;
    const lastAttempt = attempt.attemptsMade + 1 >= attempt.maxAttempts;
    if (app && !app.retryable) {
      log.warn({ code: app.code, err: app.message }, 'job failed');
      await records.finishFailed(app.code, app.message);
      return 'failed';
    }
    const code = app?.code ?? 'internal_error';
    if (lastAttempt) {
      log.error({ err }, 'job failed after its last attempt');
      await records.finishFailed(code, app?.message ?? 'The job failed unexpectedly; see the worker log');
      return 'failed';
    }
    log.warn({ err, attempt: attempt.attemptsMade + 1 }, 'job attempt failed; it will be retried');
    await records.requeue(code, 'Retrying after a transient failure');
    return 'retry';
  }

  // More threads only pay off on enough data; a pool that cannot start leaves the job on one.
  const peers = ctx.parallel && data.train.x.shape[0] >= ctx.parallel.minExamples
    ? await ctx.parallel.peers().catch((err: Error) => {
      log.warn({ err: err.message }, 'training on one thread: peer threads did not start');
      return undefined;
    })
    : undefined;

  try {
    const result = await withSeededRandom(hp.seed, async () => {
      if (job.type === 'finetune') {
        if (!job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
        await records.setStage('load');
        const base = await loadModel(ctx.storage, job.baseModel.storagePrefix);
        await records.setStage('freeze');
        parts = freeze(base.model, { cutLayer: spec.cutLayer, head: spec.head, freeze: spec.freeze, numClasses: spec.labels.length });
        if (spec.freeze === 'all') {
          const started = performance.now();
          features = await cachedFeatures(ctx, parts, data, featureKey({
            modelDigest: base.digest,
            cutLayer: parts.cutLayer!,
            trainDatasetId: job.trainDatasetId,
            validationDatasetId: job.validationDatasetId ?? undefined,
            validationSplit: hp.validationSplit,
            seed: hp.seed,
          }), peers);
          featureMs = performance.now() - started;
        }
      } else {
        parts = buildModel(data.featureShape, spec.architecture ?? [], spec.labels.length);
      }
      await records.setStage('train');
      const model = parts.model;
      const trainData = { x: data.train.x, y: data.train.y, classes: data.train.classes, valX: data.validation?.x, valClasses: data.validation?.classes };
      const main = await train(parts, trainData, { hp, labels: spec.labels, features: features?.features, peers }, {
        shouldStop,
        onEpochEnd: async (r) => {
          const prefix = `jobs/${jobId}/checkpoints/epoch-${r.epoch}/`;
          const saved = await model.save(s3IOHandler(ctx.storage, prefix));
          await records.recordEpoch(r, hp.epochs, { prefix, sizeBytes: saved.modelArtifactsInfo.weightDataBytes ?? 0 });
          log.info({ epoch: r.epoch, loss: r.loss, valAccuracy: r.valAccuracy, examplesPerSec: Math.round(r.examplesPerSec) }, 'epoch done');
        },
      });
      if (main.stopped || !spec.compareWithScratch) return { main };
      log.info('training the same architecture from scratch for comparison');
      scratch = await fromScratch(model);
      const baseline = await train(scratch, trainData, { hp, labels: spec.labels, peers }, { shouldStop, onEpochEnd: async () => undefined });
      return { main, baseline };
    });
    if (result.main.stopped || result.baseline?.stopped) {
      await records.finishCancelled();
      log.info({ epochs: result.main.epochs.length }, 'job cancelled');
      return 'cancelled';
    }

    await records.setStage('evaluate');
    const trained = parts!.model;
    const holdout = data.holdout;
    const evaluation: (Evaluation & { comparison?: Comparison }) | null = holdout
      ? await evaluate(trained, holdout.data.x, holdout.data.classes, spec.labels, holdout.split, hp.batchSize)
      : null;
    if (evaluation && holdout && result.baseline && scratch) {
      const scratchEval = await evaluate(scratch.model, holdout.data.x, holdout.data.classes, spec.labels, holdout.split, hp.batchSize);
      const fineTuned = { ...result.main, wallTimeMs: Math.round(result.main.wallTimeMs + featureMs) };
      evaluation.comparison = compare(spec.targetValAccuracy, { evaluation, train: fineTuned }, { evaluation: scratchEval, train: result.baseline });
    }
    const modelId = randomUUID();
    const prefix = `models/${modelId}/`;
    await trained.save(s3IOHandler(ctx.storage, prefix));
    const summary = summarize(trained);
    await ctx.db.$transaction([
      ctx.db.model.create({
        data: {
          id: modelId,
          name: spec.name ?? `${job.type === 'pretrain' ? 'pretrained' : 'fine-tuned'} ${jobId.slice(0, 8)}`,
          kind: job.type === 'pretrain' ? 'base' : 'fine_tuned',
          storagePrefix: prefix,
          inputShape: summary.inputShape,
          outputShape: summary.outputShape,
          layers: summary.layers as never,
          labels: spec.labels,
          totalParams: summary.totalParams,
          trainableParams: summary.trainableParams,
          parentId: job.baseModelId,
          jobId,
        },
      }),
      ctx.db.job.update({
        where: { id: jobId },
        data: {
          status: 'succeeded',
          progress: 1,
          evaluation: evaluation as never,
          bestCheckpoint: result.main.best
            ? { ...result.main.best, earlyStopped: result.main.earlyStopped, fastPath: result.main.fastPath, threads: result.main.threads, featureCache: features ? (features.hit ? 'hit' : 'miss') : null }
            : undefined,
          finishedAt: new Date(),
        },
      }),
    ]);
    log.info({ modelId, accuracy: evaluation?.accuracy, bestEpoch: result.main.best?.epoch }, 'job succeeded');
    return 'succeeded';
  } catch (err) {
    return fail(err);
  } finally {
    for (const p of [parts, scratch]) if (p) disposeParts(p);
    if (features) tf.dispose([features.features.train, ...(features.features.validation ? [features.features.validation] : [])]);
    data.dispose();
  }
}
