// Runs one job through load → freeze → train → evaluate, keeping Postgres and
// S3 up to date as it goes. Knows nothing of HTTP; BullMQ only calls it.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../shared/db/prisma.ts';
import { AppError, UnprocessableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { s3IOHandler } from '../../shared/ml/s3-io-handler.ts';
import { summarize } from '../../shared/ml/model-summary.ts';
import type { BackendInfo } from '../../shared/ml/tf.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { JobRecords, LeaseLostError, type Claim } from './job-records.ts';
import { loadJobData } from './job-data.ts';
import { cachedFeatures, featureKey, type Features } from './feature-cache.ts';
import { tf } from '../../shared/ml/tf.ts';
import { buildModel } from './pipeline/build.ts';
import { evaluate, type Evaluation } from './pipeline/evaluate.ts';
import { disposeParts, freeze, type ModelParts } from './pipeline/freeze.ts';
import { compare, trainFromScratch, type Comparison } from './pipeline/compare.ts';
import { withSeededRandom } from './pipeline/seed.ts';
import { loadModel } from './pipeline/load.ts';
import { train, type OptimizerState, type StopReason, type TrainPoint } from './pipeline/train.ts';
import { saveCheckpoint } from './checkpoint-io.ts';
import { findResume } from './resume.ts';
import { TERMINAL_STATUSES } from '../../shared/jobs/status.ts';
import { JobStore } from '../../shared/jobs/job-store.ts';
import { decodeLayers, decodeSource, decodeSpec, toJson } from '../../shared/jobs/decode.ts';
import type { TrainingPeers } from './parallel/training-peers.ts';
import type { ModelInspector } from '../../shared/ml/model-inspector.ts';

export interface RunContext {
  db: Db;
  storage: Storage;
  log: Logger;
  backend: BackendInfo;
  cancelPollMs: number;
  leaseMs: number;
  /** MAX_RUNNING_JOBS_PER_TENANT, enforced at claim time in Postgres. @defaultValue no limit */
  maxRunningPerTenant?: number;
  /** Builds a user's model in a bounded child process before the load stage builds it here. */
  inspector?: ModelInspector;
  /** Data-parallel peer threads, for training sets of at least minExamples. */
  parallel?: { peers(): Promise<TrainingPeers>; minExamples: number };
}

export interface Attempt {
  /** Attempts before this one. */
  attemptsMade: number;
  maxAttempts: number;
}

/**
 * handed_back: a shutdown checkpointed the job and put it back in the queue for another worker.
 * deferred: its tenant had as many jobs running as it may; still queued, to be tried again later.
 */
export type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'retry' | 'paused' | 'handed_back' | 'deferred';

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

/** Asks `check` at most every `everyMs`; once it answers something, keeps that answer. */
export function throttle<T>(check: () => Promise<T | false>, everyMs: number): () => Promise<T | false> {
  let last = 0;
  let value: T | false = false;
  return async () => {
    const now = Date.now();
    if (!value && now - last >= everyMs) {
      last = now;
      value = await check();
    }
    return value;
  };
}

/** Settles a job nobody can run any more, or takes it; null when there is nothing to run. */
async function claimOrSettle(ctx: RunContext, records: JobRecords, log: Logger): Promise<Claim | RunOutcome> {
  const jobId = records.jobId;
  for (let tries = 0; tries < 2; tries++) {
    const job = await ctx.db.job.findUnique({ where: { id: jobId }, select: { status: true, cancelRequestedAt: true, leaseExpiresAt: true } });
    if (!job || TERMINAL_STATUSES.has(job.status) || job.status === 'paused') {
      log.info({ status: job?.status }, 'nothing to run');
      return 'skipped';
    }
    const leaseLive = job.status === 'running' && job.leaseExpiresAt !== null && job.leaseExpiresAt.getTime() > Date.now();
    if (job.cancelRequestedAt && !leaseLive) {
      // Cancelled while no worker held it (queued, or its worker died): settle it here.
      await new JobStore(ctx.db).cancel(ctx.db, jobId, ['queued', 'running'], {}, { where: { OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: new Date() } }] } });
      return 'cancelled';
    }
    const claim = await records.claim(ctx.backend.kind, ctx.maxRunningPerTenant);
    if (claim === 'deferred') {
      log.info('deferred: the tenant has MAX_RUNNING_JOBS_PER_TENANT jobs running');
      return 'deferred';
    }
    if (claim) return claim;
    if (!leaseLive) return 'skipped';
    // Another attempt's lease has not run out (e.g. the queue redelivered before it lapsed): wait it out once.
    await new Promise((r) => setTimeout(r, Math.min(ctx.leaseMs, job.leaseExpiresAt!.getTime() - Date.now()) + 250));
  }
  return 'skipped';
}

export async function runJob(ctx: RunContext, jobId: string, attempt: Attempt): Promise<RunOutcome> {
  const log = ctx.log.child({ jobId });
  const records = new JobRecords(ctx.db, jobId, ctx.leaseMs);
  const claim = await claimOrSettle(ctx, records, log);
  if (typeof claim === 'string') return claim;

  // The heartbeat keeps the lease; when it finds the lease taken, training stops without another write.
  let leaseLost = false;
  const heartbeat = setInterval(() => {
    records.renew().then((held) => { leaseLost ||= !held; }, (err: Error) => log.warn({ err: err.message }, 'lease renewal failed'));
  }, Math.max(250, Math.floor(ctx.leaseMs / 3)));
  try {
    return await runClaimed(ctx, records, claim, attempt, log, () => leaseLost);
  } catch (err) {
    if (err instanceof LeaseLostError) {
      log.warn('lost the job\'s lease to another worker; stopping without further writes');
      return 'skipped';
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}

async function runClaimed(ctx: RunContext, records: JobRecords, claim: Claim, attempt: Attempt, log: Logger, leaseLost: () => boolean): Promise<RunOutcome> {
  const jobId = records.jobId;
  const job = await ctx.db.job.findUniqueOrThrow({
    where: { id: jobId },
    include: { baseModel: true, trainDataset: true, validationDataset: true, testDataset: true },
  });
  log.info({ type: job.type, attempt: claim.attempt, backend: ctx.backend.kind }, 'job started');

  const spec = decodeSpec(job.spec, job.id);
  const hp = spec.hyperparameters;
  let parts: ModelParts | undefined;
  let scratch: ModelParts | undefined;
  let features: { features: Features; hit: boolean } | undefined;
  // Time spent getting the frozen base's features counts towards fine-tuning's wall time.
  let featureMs = 0;
  const polled = throttle(() => records.stopRequested(), ctx.cancelPollMs);
  const stopFor = (allowed: StopReason[]) => async (): Promise<StopReason | false> => {
    if (leaseLost()) return 'lease_lost';
    const reason = await polled();
    return reason && allowed.includes(reason) ? reason : false;
  };
  const warn = (message: string) => records.event('warning', { message });

  async function fail(raw: unknown): Promise<RunOutcome> {
    if (raw instanceof LeaseLostError) throw raw;
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
    log.warn({ err, attempt: claim.attempt }, 'job attempt failed; it will be retried');
    await records.requeue(code, 'Retrying after a transient failure', claim.attempt);
    return 'retry';
  }

  const source = (d: { id: string; source: unknown }) => ({ source: decodeSource(d.source, d.id) });
  const data = await loadJobData(ctx.storage, spec.labels, source(job.trainDataset), {
    validation: job.validationDataset ? source(job.validationDataset) : undefined,
    test: job.testDataset ? source(job.testDataset) : undefined,
    validationSplit: hp.validationSplit,
    seed: hp.seed,
  }).catch(async (err) => fail(err));
  if (typeof data === 'string') return data;

  // More threads only pay off on enough data; a pool that cannot start leaves the job on one.
  const peers = ctx.parallel && data.train.x.shape[0] >= ctx.parallel.minExamples
    ? await ctx.parallel.peers().catch((err: Error) => {
      log.warn({ err: err.message }, 'training on one thread: peer threads did not start');
      return undefined;
    })
    : undefined;

  /** Saves where training stands, mid-epoch, and lets the job go (pause) or back to the queue (shutdown). */
  const interrupt = async (reason: 'pause' | 'shutdown', point: TrainPoint, optimizers: () => Promise<OptimizerState>) => {
    const prefix = `jobs/${jobId}/checkpoints/interrupted-epoch-${point.epoch + 1}-batch-${point.batch}/`;
    await saveCheckpoint(ctx.storage, prefix, parts!.model, point, await optimizers());
    await records.interrupt(reason, { prefix, epoch: point.epoch, batch: point.batch });
    log.info({ reason, epoch: point.epoch + 1, batch: point.batch }, 'job interrupted at a batch boundary; checkpoint written');
  };

  try {
    const result = await withSeededRandom(hp.seed, async () => {
      if (job.type === 'finetune') {
        if (!job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
        await records.setStage('load');
        // A registered base came from a user (sourceUri); pretrained and fine-tuned ones, from us.
        const base = await loadModel(ctx.storage, job.baseModel.storagePrefix, job.baseModel.sourceUri ? ctx.inspector : undefined);
        await records.setStage('freeze');
        parts = freeze(base.model, { cutLayer: spec.cutLayer, head: spec.head, freeze: spec.freeze, numClasses: spec.labels.length });
        if (spec.freeze === 'all') {
          const started = performance.now();
          const key = featureKey({ modelDigest: base.digest, cutLayer: parts.cutLayer!, train: data.train.digest, validation: data.validation?.digest });
          features = await cachedFeatures(ctx.storage, parts, { train: data.train.x, validation: data.validation?.x }, key, {
            peers,
            onWriteError: async (err) => {
              ctx.log.warn({ err: err.message, key }, 'could not cache base features');
              await warn('The base features could not be cached; later jobs will compute them again');
            },
          });
          featureMs = performance.now() - started;
        }
      } else {
        parts = buildModel(data.featureShape, spec.architecture ?? [], spec.labels.length);
      }
      // An earlier attempt's checkpoint: continue from it rather than from scratch.
      const resume = claim.attempt > 1 || claim.resumePoint ? await findResume(ctx.db, ctx.storage, jobId, parts, claim.resumePoint) : null;
      if (claim.attempt > 1 || claim.resumePoint) await records.dropAfter(resume?.epoch ?? 0);
      if (resume) {
        await records.event('attempt', { attempt: claim.attempt, resumeFrom: { epoch: resume.epoch, batch: resume.batch } });
        log.info({ epoch: resume.epoch, batch: resume.batch }, 'resuming from a checkpoint');
      }
      await records.setStage('train');
      const model = parts.model;
      const trainData = { x: data.train.x, y: data.train.y, classes: data.train.classes, valX: data.validation?.x, valClasses: data.validation?.classes };
      const main = await train(parts, trainData, { hp, labels: spec.labels, features: features?.features, peers, resume: resume ?? undefined }, {
        shouldStop: stopFor(['cancel', 'pause', 'shutdown']),
        onEpochEnd: async (r, optimizers) => {
          const prefix = `jobs/${jobId}/checkpoints/epoch-${r.epoch}/`;
          const sizeBytes = await saveCheckpoint(ctx.storage, prefix, model, { epoch: r.epoch, batch: 0, lossSum: 0, correct: 0 }, await optimizers());
          await records.recordEpoch(r, hp.epochs, { prefix, sizeBytes });
          log.info({ epoch: r.epoch, loss: r.loss, valAccuracy: r.valAccuracy, examplesPerSec: Math.round(r.examplesPerSec) }, 'epoch done');
        },
        onInterrupt: async (point, optimizers) => {
          if (leaseLost()) return;
          const reason = await polled();
          if (reason === 'pause' || reason === 'shutdown') await interrupt(reason, point, optimizers);
        },
      });
      if (main.stopped || !spec.compareWithScratch) return { main };
      log.info('training the same architecture from scratch for comparison');
      // The baseline is not checkpointed: interrupted, it starts over after the fine-tuned model resumes.
      const run = await trainFromScratch(model, trainData, { hp, labels: spec.labels, peers }, { shouldStop: stopFor(['cancel', 'pause', 'shutdown']), onEpochEnd: async () => undefined });
      scratch = run.parts;
      const baseline = run.result;
      if (baseline.stopped === 'pause' || baseline.stopped === 'shutdown') {
        await records.interrupt(baseline.stopped, null);
      }
      return { main, baseline };
    });
    const stopped = result.main.stopped ?? result.baseline?.stopped;
    if (stopped) return await settleStopped(stopped);

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
    await records.finishSucceeded(
      (tx) => tx.model.create({
        data: {
          id: modelId,
          name: spec.name ?? `${job.type === 'pretrain' ? 'pretrained' : 'fine-tuned'} ${jobId.slice(0, 8)}`,
          kind: job.type === 'pretrain' ? 'base' : 'fine_tuned',
          storagePrefix: prefix,
          inputShape: summary.inputShape,
          outputShape: summary.outputShape,
          layers: toJson(decodeLayers, summary.layers),
          labels: spec.labels,
          totalParams: summary.totalParams,
          trainableParams: summary.trainableParams,
          parentId: job.baseModelId,
          jobId,
          tenantId: job.tenantId,
        },
      }),
      {
        evaluation,
        bestCheckpoint: result.main.best
          ? { ...result.main.best, earlyStopped: result.main.earlyStopped, fastPath: result.main.fastPath, threads: result.main.threads, featureCache: features ? (features.hit ? 'hit' : 'miss') : null }
          : undefined,
      },
    );
    log.info({ modelId, accuracy: evaluation?.accuracy, bestEpoch: result.main.best?.epoch }, 'job succeeded');
    return 'succeeded';
  } catch (err) {
    return fail(err);
  } finally {
    for (const p of [parts, scratch]) if (p) disposeParts(p);
    if (features) tf.dispose([features.features.train, ...(features.features.validation ? [features.features.validation] : [])]);
    data.dispose();
  }

  async function settleStopped(reason: StopReason): Promise<RunOutcome> {
    switch (reason) {
      case 'lease_lost':
        log.warn('stopped: another worker holds the job now');
        return 'skipped';
      case 'pause':
        return 'paused';
      case 'shutdown':
        return 'handed_back';
      case 'cancel':
        await records.finishCancelled();
        log.info('job cancelled');
        return 'cancelled';
    }
  }
}
