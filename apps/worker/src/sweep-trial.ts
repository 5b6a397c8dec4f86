// What a sweep's trial tells its sweep while it trains (docs/sweeps.md): its
// objective at each ASHA rung, and whether it stops there; where its base
// features came from; and the compute it used. A job that is no trial writes
// nothing here.
import type { Db } from '../../shared/db/prisma.ts';
import type { Monitored } from '../../shared/jobs/spec.ts';
import { rungs, stopsAtRung } from '../../shared/sweeps/asha.ts';
import type { SweepSpec } from '../../shared/sweeps/spec.ts';
import type { EpochResult, TrainPoint } from './pipeline/train.ts';
import type { StageContext } from './stages/context.ts';

/**
 * At a rung: records the trial's objective there and answers whether ASHA stops it. The sweep's
 * row is locked meanwhile, so trials reaching a rung at the same moment are judged one after the other.
 */
export async function atRung(db: Db, sweepId: string, jobId: string, epochs: number, r: EpochResult): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ spec: SweepSpec }>>`SELECT spec FROM "Sweep" WHERE id = ${sweepId}::uuid FOR UPDATE`;
    const spec = rows[0]?.spec;
    if (!spec?.earlyStopping || !rungs(spec.earlyStopping, epochs).includes(r.epoch)) return false;
    const mine = r[spec.objective.metric as Monitored];
    if (mine === null || !Number.isFinite(mine)) return false;
    const trial = await tx.sweepTrial.findUnique({ where: { jobId } });
    if (!trial) return false;
    await tx.sweepTrial.update({ where: { jobId }, data: { rungs: { ...(trial.rungs as Record<string, number>), [r.epoch]: mine } } });
    const all = await tx.sweepTrial.findMany({ where: { sweepId }, select: { rungs: true } });
    const recorded = all.map((t) => (t.rungs as Record<string, number>)[r.epoch]).filter((v): v is number => typeof v === 'number');
    const stop = stopsAtRung(recorded, mine, spec.objective.direction, spec.earlyStopping.reductionFactor);
    if (stop) await tx.sweepTrial.update({ where: { jobId }, data: { prunedAtEpoch: r.epoch } });
    return stop;
  });
}

/** Whether ASHA stopped the trial at an epoch the resume point has already passed (an earlier attempt died before the job ended). */
export async function prunedBy(db: Db, jobId: string, resume: Pick<TrainPoint, 'epoch'> | null): Promise<boolean> {
  if (!resume) return false;
  const trial = await db.sweepTrial.findUnique({ where: { jobId }, select: { prunedAtEpoch: true } });
  return trial?.prunedAtEpoch != null && resume.epoch >= trial.prunedAtEpoch;
}

/**
 * Where the trial's frozen-base features came from. Once one of its group has them, the group's
 * others may start: the sweep advances now, so it does not wait for this trial's end.
 */
export async function recordFeatures(s: Pick<StageContext, 'run' | 'jobId' | 'log'>, sweepId: string, cache: 'hit' | 'miss'): Promise<void> {
  await s.run.db.sweepTrial.updateMany({ where: { jobId: s.jobId }, data: { features: cache === 'hit' ? 'reused' : 'computed' } });
  // The trial goes on regardless: the reconciler advances the sweep later.
  await s.run.advanceSweep?.(sweepId).catch((err: unknown) => s.log.warn({ sweepId, err: (err as Error)?.message }, 'could not advance the sweep after recording features'));
}

/**
 * A trial's compute counts what its training processes really did, attempt after attempt: each finished
 * epoch when it finishes (before its checkpoint, so an epoch a crash makes train again counts again), and the
 * batches of an epoch cut short (cancel, pause, shutdown, a lost lease, divergence). Only the batches a killed
 * process ran after its last record are lost.
 */
export class TrialCompute {
  constructor(
    private readonly db: Db,
    private readonly jobId: string,
    private readonly examples: number,
    private readonly batchSize: number,
    /** The layers with weights trained in an epoch (0-based): the head's and the base blocks unfrozen then. */
    private readonly layersAt: (epoch: number) => number,
    /** Where this attempt starts: batches of that epoch already trained by an earlier one. */
    private readonly from: { epoch: number; batch: number } | null,
  ) {}

  private done(epoch: number, batches: number): number {
    const first = this.from?.epoch === epoch ? this.from.batch : 0;
    return Math.max(0, Math.min(this.examples, batches * this.batchSize) - Math.min(this.examples, first * this.batchSize));
  }

  /** Epoch `epoch` (0-based) finished. */
  epochEnded(epoch: number): Promise<void> {
    return this.add(this.done(epoch, Infinity) * this.layersAt(epoch), 1);
  }

  /** Epoch `epoch` (0-based) stopped after `batches` batches. */
  cutShort(epoch: number, batches: number): Promise<void> {
    return this.add(this.done(epoch, batches) * this.layersAt(epoch), 0);
  }

  private async add(exampleLayers: number, epochs: number): Promise<void> {
    if (exampleLayers === 0 && epochs === 0) return;
    await this.db.$executeRaw`UPDATE "SweepTrial" SET compute = jsonb_build_object(
      'examples', ${this.examples}::int,
      'epochsRun', COALESCE((compute->>'epochsRun')::int, 0) + ${epochs}::int,
      'exampleLayers', COALESCE((compute->>'exampleLayers')::float8, 0) + ${exampleLayers}::float8)
      WHERE "jobId" = ${this.jobId}::uuid`;
  }
}
