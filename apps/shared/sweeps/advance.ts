// A sweep moves forward here, and only here: with its row locked, it starts
// planned trials as jobs while fewer than `parallelism` are live, and once no
// trial is live or left, it ends with its best trial. Called by the API when
// the sweep is posted or cancelled, by a worker when one of its trials ends,
// and by every worker's reconciler (the backstop for a trial cancelled on its
// own, or a worker that died between a trial's end and this call).
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from '../config.ts';
import type { Db } from '../db/prisma.ts';
import { decodeBestCheckpoint, decodeSpec, StoredJsonError } from '../jobs/decode.ts';
import { JobStore, type Tx } from '../jobs/job-store.ts';
import { TERMINAL_STATUSES } from '../jobs/status.ts';
import type { JobPayload } from '../queue/contract.ts';
import { ensureEnqueued } from '../queue/reconcile.ts';
import { queuedRoom } from './quota.ts';
import type { SweepSpec } from './spec.ts';

export type TrialRow = Awaited<ReturnType<typeof readTrials>>[number];

export function readTrials(tx: Tx | Db, sweepId: string) {
  return tx.sweepTrial.findMany({
    where: { sweepId },
    orderBy: { index: 'asc' },
    include: { job: { select: { id: true, status: true, bestCheckpoint: true, epoch: true, errorCode: true, errorMessage: true, outputModel: { select: { id: true } } } } },
  });
}

/** The trial's objective: its best epoch's value of the sweep's metric (the epoch its model keeps); null until it has one. */
export function objectiveOf(t: TrialRow, spec: Pick<SweepSpec, 'objective'>): number | null {
  if (!t.job?.bestCheckpoint) return null;
  const best = decodeBestCheckpoint(t.job.bestCheckpoint, t.job.id);
  return best.metric === spec.objective.metric ? best.value : null;
}

/** Succeeded trials with an objective, best first (ties: the earlier trial). */
export function ranked(trials: TrialRow[], spec: Pick<SweepSpec, 'objective'>): TrialRow[] {
  const sign = spec.objective.direction === 'max' ? -1 : 1;
  return trials
    .filter((t) => t.job?.status === 'succeeded' && objectiveOf(t, spec) !== null)
    .sort((a, b) => sign * (objectiveOf(a, spec)! - objectiveOf(b, spec)!) || a.index - b.index);
}

const live = (t: TrialRow) => !!t.job && !TERMINAL_STATUSES.has(t.job.status);

/**
 * The planned trials to start now, in order. A trial on a frozen base waits while another
 * of its feature group (same cut) is live and none has its features yet: the first computes
 * them into the feature cache, the rest read them (docs/sweeps.md).
 */
export function nextTrials(trials: TrialRow[], parallelism: number): TrialRow[] {
  const ready = new Set(trials.filter((t) => t.featureGroup && t.features).map((t) => t.featureGroup));
  const busy = new Set(trials.filter((t) => live(t) && t.featureGroup).map((t) => t.featureGroup));
  let slots = parallelism - trials.filter(live).length;
  const out: TrialRow[] = [];
  for (const t of trials) {
    if (slots <= 0) break;
    if (t.jobId || (t.featureGroup && !ready.has(t.featureGroup) && busy.has(t.featureGroup))) continue;
    out.push(t);
    slots--;
    if (t.featureGroup) busy.add(t.featureGroup);
  }
  return out;
}

async function finish(tx: Tx, sweep: { id: string; cancelRequestedAt: Date | null }, spec: SweepSpec, trials: TrialRow[]): Promise<void> {
  const best = ranked(trials, spec)[0];
  const status = sweep.cancelRequestedAt ? 'cancelled' : best ? 'succeeded' : 'failed';
  const error = status === 'failed' ? { errorCode: 'no_trial_succeeded', errorMessage: noneSucceeded(trials) } : {};
  await tx.sweep.update({ where: { id: sweep.id }, data: { status, bestJobId: best?.jobId ?? null, finishedAt: new Date(), ...error } });
}

/** Why a sweep failed: its trials' ends counted, and the first failure's error (the usual cause of the rest). */
function noneSucceeded(trials: TrialRow[]): string {
  const counts = new Map<string, number>();
  for (const t of trials) counts.set(t.job?.status ?? 'not started', (counts.get(t.job?.status ?? 'not started') ?? 0) + 1);
  const ends = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const first = trials.find((t) => t.job?.status === 'failed');
  const cause = first ? `; trial ${first.index} failed first with ${first.job!.errorCode ?? 'no code'}: ${first.job!.errorMessage ?? ''}` : '';
  return `No trial succeeded (${ends})${cause}`.slice(0, 2000);
}

/** A trial that can never start: its stored spec does not decode, or its job breaks a constraint (e.g. its base model is gone). */
class TrialStartError extends Error {
  constructor(readonly index: number, readonly cause: unknown) {
    super(`Trial ${index} cannot start: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
// A raw query's Postgres code is in meta.code (Prisma's P2010).
const codeOf = (err: unknown) => String((err as { meta?: { code?: unknown } })?.meta?.code ?? (err as { code?: unknown })?.code ?? '');
// A write conflict or deadlock (Prisma's P2034, Postgres' 40001 and 40P01) passes on a retry: the sweep's
// trials race its other callers (a training process recording features, a trial's end, the reconciler).
// A transaction or pool timeout (P2028, P2024: a lock waited on under load) passes on a retry too.
const conflict = (err: unknown) => /^(P2034|P2028|P2024|40001|40P01)$/.test(codeOf(err));
// Prisma's other P2xxx request errors and Postgres' class 23 (integrity) fail the same way on every retry; a lost connection does not.
const permanent = (err: unknown) => err instanceof StoredJsonError || (!conflict(err) && /^(P2\d{3}|23\d{3})$/.test(codeOf(err)));

async function start(tx: Tx, tenantId: string, sweepId: string, t: TrialRow): Promise<string> {
  try {
    return await startJob(tx, tenantId, sweepId, t);
  } catch (err) {
    throw permanent(err) ? new TrialStartError(t.index, err) : err;
  }
}

async function startJob(tx: Tx, tenantId: string, sweepId: string, t: TrialRow): Promise<string> {
  const id = randomUUID();
  const spec = decodeSpec(t.spec, `${sweepId}/${t.index}`);
  await new JobStore(tx as unknown as Db).create(tx, {
    id, tenantId, sweepId, type: spec.type, spec, baseModelId: spec.baseModelId, trainDatasetId: spec.trainDatasetId,
    validationDatasetId: spec.validationDatasetId, testDatasetId: spec.testDatasetId, totalEpochs: spec.hyperparameters.epochs,
  });
  await tx.sweepTrial.update({ where: { sweepId_index: { sweepId, index: t.index } }, data: { jobId: id } });
  return id;
}

/** Starts what may start and ends the sweep when nothing is left; the ids of the jobs it started. */
export async function advanceSweep(db: Db, queue: Queue<JobPayload>, config: Config, sweepId: string): Promise<string[]> {
  const started = await retryConflicts(() => startTrials(db, config, sweepId)).catch(async (err: unknown) => {
    if (!(err instanceof TrialStartError)) throw err;
    // Retrying would throw the same every round: the sweep ends failed (its live trials run on), and the error goes to the caller's log.
    await db.sweep.updateMany({ where: { id: sweepId, status: 'running' }, data: { status: 'failed', finishedAt: new Date(), errorCode: 'sweep_trial_unstartable', errorMessage: err.message.slice(0, 2000) } });
    throw err;
  });
  // Postgres says queued; if Redis is down now, the reconciler enqueues them later.
  for (const id of started) await ensureEnqueued(queue, config, id).catch(() => undefined);
  return started;
}

async function retryConflicts<T>(run: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (i >= tries || !(conflict(err) || conflict((err as TrialStartError)?.cause))) throw err;
    }
  }
}

async function startTrials(db: Db, config: Config, sweepId: string): Promise<string[]> {
  return db.$transaction(async (tx) => {
    // The tenant's row first, as a worker's claim takes it (MAX_RUNNING_JOBS_PER_TENANT): a trial's job insert
    // needs it (its foreign key), and taken after the sweep's lock it deadlocks with a claim. It also makes
    // the queued-jobs count below see every other sweep's starts of this tenant. NO KEY UPDATE, as the
    // claim: it leaves a submit's foreign-key check free (FOR UPDATE deadlocked one holding a stripe).
    await tx.$queryRaw`SELECT t.id FROM "Tenant" t JOIN "Sweep" s ON s."tenantId" = t.id WHERE s.id = ${sweepId}::uuid FOR NO KEY UPDATE OF t`;
    const rows = await tx.$queryRaw<Array<{ id: string; tenantId: string; status: string; spec: SweepSpec; cancelRequestedAt: Date | null }>>`
      SELECT id, "tenantId", status::text AS status, spec, "cancelRequestedAt" FROM "Sweep" WHERE id = ${sweepId}::uuid FOR UPDATE`;
    const sweep = rows[0];
    if (!sweep || sweep.status !== 'running') return [];
    const trials = await readTrials(tx, sweepId);
    const stopping = !!sweep.cancelRequestedAt;
    const next = stopping ? [] : nextTrials(trials, sweep.spec.parallelism);
    if (!next.length && !trials.some(live) && (stopping || trials.every((t) => t.jobId))) {
      await finish(tx, sweep, sweep.spec, trials);
      return [];
    }
    // Past the tenant's queued-jobs limit a trial waits, pending, for a later advance (a trial's end, the reconciler).
    const room = next.length ? await queuedRoom(tx, sweep.tenantId, config.limits.queuedJobsPerTenant) : 0;
    const ids: string[] = [];
    for (const t of next.slice(0, room)) ids.push(await start(tx, sweep.tenantId, sweepId, t));
    return ids;
  });
}

/** The sweeps still running: the reconciler's backstop advances each. */
export async function advanceRunningSweeps(
  db: Db, queue: Queue<JobPayload>, config: Config, onError: (sweepId: string, err: unknown) => void = () => undefined,
): Promise<void> {
  const sweeps = await db.sweep.findMany({ where: { status: 'running' }, select: { id: true }, orderBy: { createdAt: 'asc' }, take: 200 });
  // One sweep that throws must not cost every newer sweep its backstop.
  for (const s of sweeps) await advanceSweep(db, queue, config, s.id).catch((err: unknown) => onError(s.id, err));
}
