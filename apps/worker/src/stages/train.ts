// Stage: train. The model trains from where the resume stage left it, with a
// checkpoint after every epoch; a pause or shutdown writes one mid-epoch, at a
// batch boundary, and lets the job go.
import { saveCheckpoint } from '../checkpoint-io.ts';
import type { JobData } from '../job-data.ts';
import { train, type OptimizerState, type ResumeFrom, type StopReason, type TrainData, type TrainPoint, type TrainResult } from '../pipeline/train.ts';
import type { BaseFeatures } from './base-features.ts';
import type { Built } from './build.ts';
import type { StageContext } from './context.ts';
import type { Prepared } from './prepare-data.ts';

/** What stops training at a batch boundary (besides a lost lease). */
export const STOPS: StopReason[] = ['cancel', 'pause', 'shutdown'];

export function trainData(data: JobData): TrainData {
  return { x: data.train.x, y: data.train.y, classes: data.train.classes, valX: data.validation?.x, valClasses: data.validation?.classes };
}

export async function trainStage(s: StageContext, prepared: Prepared, built: Built, features: BaseFeatures | null, resume: ResumeFrom | null): Promise<TrainResult> {
  const { spec, records, log, jobId } = s;
  const hp = spec.hyperparameters;
  const model = built.parts.model;
  await records.setStage('train');
  const opts = { hp, labels: spec.labels, features: features?.features, peers: prepared.peers, resume: resume ?? undefined };
  return train(built.parts, trainData(prepared.data), opts, {
    shouldStop: s.stopFor(STOPS),
    onEpochEnd: async (r, optimizers) => {
      const prefix = `jobs/${jobId}/checkpoints/epoch-${r.epoch}/`;
      const sizeBytes = await saveCheckpoint(s.run.storage, prefix, model, { epoch: r.epoch, batch: 0, lossSum: 0, correct: 0 }, await optimizers());
      await records.recordEpoch(r, hp.epochs, { prefix, sizeBytes });
      log.info({ epoch: r.epoch, loss: r.loss, valAccuracy: r.valAccuracy, examplesPerSec: Math.round(r.examplesPerSec) }, 'epoch done');
    },
    onInterrupt: async (point, optimizers) => {
      if (s.leaseLost()) return;
      const reason = await s.stopRequested();
      if (reason === 'pause' || reason === 'shutdown') await interrupt(s, built, reason, point, optimizers);
    },
  });
}

/** Saves where training stands, mid-epoch, and lets the job go (pause) or back to the queue (shutdown). */
async function interrupt(s: StageContext, built: Built, reason: 'pause' | 'shutdown', point: TrainPoint, optimizers: () => Promise<OptimizerState>): Promise<void> {
  const prefix = `jobs/${s.jobId}/checkpoints/interrupted-epoch-${point.epoch + 1}-batch-${point.batch}/`;
  await saveCheckpoint(s.run.storage, prefix, built.parts.model, point, await optimizers());
  await s.records.interrupt(reason, { prefix, epoch: point.epoch, batch: point.batch });
  s.log.info({ reason, epoch: point.epoch + 1, batch: point.batch }, 'job interrupted at a batch boundary; checkpoint written');
}
