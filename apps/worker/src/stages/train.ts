// Stage: train. The model trains from where the resume stage left it, with a
// checkpoint after every epoch; a pause or shutdown writes one mid-epoch, at a
// batch boundary, and lets the job go.
import { saveCheckpoint } from '../checkpoint-io.ts';
import type { JobData } from '../job-data.ts';
import { train, type OptimizerState, type ResumeFrom, type SplitData, type StopReason, type TrainPoint, type TrainResult } from '../pipeline/train.ts';
import { augmenter, augments } from '../pipeline/augment.ts';
import { frozenThroughout, savedModel, unfrozenBlocks } from '../pipeline/freeze.ts';
import type { Augment } from '../pipeline/train-types.ts';
import type { BaseFeatures } from './base-features.ts';
import type { Built } from './build.ts';
import type { StageContext } from './context.ts';
import { atRung, prunedBy, TrialCompute } from '../sweep-trial.ts';
import { AppError } from '../../../shared/errors.ts';
import type { Prepared } from './prepare-data.ts';

/** What stops training at a batch boundary (besides a lost lease). */
export const STOPS: StopReason[] = ['cancel', 'pause', 'shutdown'];

export function trainData(data: JobData): SplitData {
  return { train: data.train, validation: data.validation };
}

/** Data-parallel peers, unless the base is a Graph model: a peer rebuilds its replica from the base's layers, and a graph has none. */
export function jobPeers(prepared: Prepared, built: Built): Prepared['peers'] {
  return built.parts.graphNode ? undefined : prepared.peers;
}

/** The job's augmentation, when it asks for any (training batches only). */
export function jobAugment(s: StageContext): Augment | undefined {
  const { augmentation, seed } = s.spec.hyperparameters;
  return augments(augmentation) ? augmenter(augmentation, seed) : undefined;
}

export async function trainStage(s: StageContext, prepared: Prepared, built: Built, features: BaseFeatures | null, resume: ResumeFrom | null): Promise<TrainResult> {
  const { spec, records, log, jobId } = s;
  const hp = spec.hyperparameters;
  const model = savedModel(built.parts);
  await records.setStage('train');
  const augment = jobAugment(s);
  // An attempt that died after ASHA stopped the trial resumes stopped: the decision was recorded, not the job's end.
  const stoppedBefore = !!s.job.sweepId && (await prunedBy(s.run.db, jobId, resume));
  if (stoppedBefore) log.info({ epoch: resume?.epoch }, 'the sweep\'s ASHA had stopped this trial before the resume; no more epochs');
  const opts = { hp, labels: spec.labels, features: features?.features, peers: jobPeers(prepared, built), resume: resume ?? undefined, augment, stoppedBefore };
  const featuresPerBatch = !!augment && !!built.parts.base && frozenThroughout(built.parts.freeze, built.parts.baseBlocks.length, hp.epochs);
  await records.event('data', { streamed: prepared.data.streamed, trainExamples: prepared.data.train.numExamples, augmentation: !!augment, featuresPerBatch });
  const compute = s.job.sweepId ? trialCompute(s, prepared, built, resume) : null;
  const result = await train(built.parts, trainData(prepared.data), opts, {
    shouldStop: s.stopFor(STOPS),
    onEpochEnd: async (r, optimizers) => {
      await compute?.epochEnded(r.epoch - 1);
      const prefix = `jobs/${jobId}/checkpoints/epoch-${r.epoch}/`;
      const sizeBytes = await saveCheckpoint(s.run.storage, prefix, model, { epoch: r.epoch, batch: 0, lossSum: 0, correct: 0 }, await optimizers());
      await records.recordEpoch(r, hp.epochs, { prefix, sizeBytes });
      log.info({ epoch: r.epoch, loss: r.loss, valAccuracy: r.valAccuracy, examplesPerSec: Math.round(r.examplesPerSec) }, 'epoch done');
      if (s.job.sweepId && (await atRung(s.run.db, s.job.sweepId, jobId, hp.epochs, r))) {
        log.info({ epoch: r.epoch }, 'the sweep\'s ASHA stopped this trial at a rung');
        return 'stop';
      }
    },
    onInterrupt: async (point, optimizers) => {
      await compute?.cutShort(point.epoch, point.batch);
      if (s.leaseLost()) return;
      const reason = await s.stopRequested();
      if (reason === 'pause' || reason === 'shutdown') await interrupt(s, built, reason, point, optimizers);
    },
  }).catch(async (err: unknown) => {
    // A diverged epoch trained up to the batch whose loss broke: it counts.
    const at = err instanceof AppError && err.code === 'training_diverged' ? (err.details as { epoch: number; batch: number }) : null;
    if (at) await compute?.cutShort(at.epoch - 1, at.batch);
    throw err;
  });
  return result;
}

/** The trial's compute, counted as it trains (docs/sweeps.md). */
function trialCompute(s: StageContext, prepared: Prepared, built: Built, resume: ResumeFrom | null): TrialCompute {
  const { parts } = built;
  const headLayers = parts.head.layers.filter((l) => l.weights.length > 0).length;
  const layersAt = (epoch: number) => headLayers + (parts.base ? unfrozenBlocks(parts.freeze, parts.baseBlocks.length, epoch) : 0);
  return new TrialCompute(s.run.db, s.jobId, prepared.data.train.numExamples, s.spec.hyperparameters.batchSize, layersAt, resume && { epoch: resume.epoch, batch: resume.batch });
}

/** Saves where training stands, mid-epoch, and lets the job go (pause) or back to the queue (shutdown). */
async function interrupt(s: StageContext, built: Built, reason: 'pause' | 'shutdown', point: TrainPoint, optimizers: () => Promise<OptimizerState>): Promise<void> {
  const prefix = `jobs/${s.jobId}/checkpoints/interrupted-epoch-${point.epoch + 1}-batch-${point.batch}/`;
  await saveCheckpoint(s.run.storage, prefix, savedModel(built.parts), point, await optimizers());
  await s.records.interrupt(reason, { prefix, epoch: point.epoch, batch: point.batch });
  s.log.info({ reason, epoch: point.epoch + 1, batch: point.batch }, 'job interrupted at a batch boundary; checkpoint written');
}
