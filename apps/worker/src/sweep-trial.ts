// What a sweep's trial tells its sweep while it trains (docs/sweeps.md): its
// objective at each ASHA rung, and whether it stops there; where its base
// features came from; and the compute it used. A job that is no trial writes
// nothing here.
import type { Db } from '../../shared/db/prisma.ts';
import type { Monitored } from '../../shared/jobs/spec.ts';
import { rungs, stopsAtRung } from '../../shared/sweeps/asha.ts';
import type { SweepSpec, TrialCompute } from '../../shared/sweeps/spec.ts';
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

/** Examples × layers with weights trained (the head's and the unfrozen base layers), summed over the epochs run. */
export function computeOf(examples: number, headLayers: number, epochs: EpochResult[]): TrialCompute {
  return { examples, epochsRun: epochs.length, exampleLayers: epochs.reduce((n, e) => n + examples * (headLayers + e.unfrozenBaseLayers), 0) };
}

export async function recordCompute(db: Db, jobId: string, compute: TrialCompute): Promise<void> {
  await db.sweepTrial.updateMany({ where: { jobId }, data: { compute } });
}
