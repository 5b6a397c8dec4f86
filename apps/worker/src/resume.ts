// Where a job continues after an interruption: the mid-epoch checkpoint a
// pause or shutdown left, else the last epoch's checkpoint, else the start.
import type { Db } from '../../shared/db/prisma.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { epochWeights, loadCheckpoint } from './checkpoint-io.ts';
import type { ResumePoint } from './job-records.ts';
import { savedModel, type ModelParts } from './pipeline/freeze.ts';
import type { EpochResult, ResumeFrom } from './pipeline/train.ts';

export async function findResume(db: Db, storage: Storage, jobId: string, parts: ModelParts, interrupted: ResumePoint | null): Promise<ResumeFrom | null> {
  const last = await db.checkpoint.findFirst({ where: { jobId }, orderBy: { epoch: 'desc' } });
  // A mid-epoch point is only good if no later epoch finished after it.
  const prefix = interrupted && (!last || last.epoch <= interrupted.epoch) ? interrupted.prefix : last?.prefix;
  if (!prefix) return null;
  const checkpoint = await loadCheckpoint(storage, prefix, savedModel(parts));
  if (!checkpoint) return null;
  const rows = await db.epochMetric.findMany({ where: { jobId, epoch: { lte: checkpoint.point.epoch } }, orderBy: { epoch: 'asc' } });
  const history: EpochResult[] = rows.map((m) => ({
    epoch: m.epoch,
    loss: m.loss,
    accuracy: m.accuracy,
    valLoss: m.valLoss,
    valAccuracy: m.valAccuracy,
    durationMs: m.durationMs,
    examplesPerSec: m.examplesPerSec,
    learningRate: 0,
    unfrozenBaseLayers: 0,
  }));
  const checkpoints = new Map((await db.checkpoint.findMany({ where: { jobId } })).map((c) => [c.epoch, c.prefix]));
  return {
    ...checkpoint.point,
    optimizers: checkpoint.optimizers,
    history,
    epochWeights: (epoch) => epochWeights(storage, checkpoints.get(epoch)!),
  };
}
