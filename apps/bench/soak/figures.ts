// The soak's figures: what became of every accepted job, read back through the
// typed client (the job, its whole event log, its metrics), plus the counts
// kept while it ran. The same figures print as text and as one JSON line.
import type { FinetuneClient, Job } from '../../client/index.ts';
import type { Config } from '../../shared/config.ts';
import { elapsedSeconds } from './log.ts';
import { ORPHAN_AFTER_MS, TERMINAL } from './options.ts';
import type { SigtermExit, Stats } from './stats.ts';

export interface Result {
  seed: number;
  wallSeconds: number;
  jobs: { submitted: number; accepted: number; succeeded: number; failed: number; failedCodes: Record<string, number>; cancelled: number; lost: number; lostStates: Record<string, number> };
  faults: { kills: number; sigterms: number; flushes: number; outages: Record<string, number> };
  /** The API's responses by status; a 500 means a fault reached a user. */
  responses: Record<string, number>;
  totalAttempts: number;
  epochsDoneTwice: number;
  stalls: number;
  integrity: { succeededWithoutModel: number; succeededWithIncompleteMetrics: number };
  interruptions: Record<string, number>;
  retries: number;
  workers: { started: number; startupSecondsMedian: number | null; startupSecondsMax: number | null; spawnFailures: number; unexpectedExits: number; sigtermAtDeadline: number; sigtermExits: SigtermExit[] };
  concurrentRuns: { measured: 'partially'; leaseLostStops: number; orphanedSandboxes: number; orphansAfter30s: number; note: string };
}

/** What the event logs and metrics of the jobs say. */
export interface LogFigures {
  epochsDoneTwice: number;
  succeededWithoutModel: number;
  succeededWithIncompleteMetrics: number;
  retries: number;
  interruptions: Record<string, number>;
  /** A paragraph per job that did not succeed: where it stopped and its last events. */
  details: string[];
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Adds one job's event log and metrics to `f`. */
async function readJob(client: FinetuneClient, j: Job, f: LogFigures): Promise<void> {
  const events = [];
  for await (const e of client.jobs.allEvents(j.id, { limit: 500 })) events.push(e);
  const perEpoch = new Map<number, number>();
  for (const e of events) {
    if (e.type === 'epoch' && typeof e.data.epoch === 'number') perEpoch.set(e.data.epoch, (perEpoch.get(e.data.epoch) ?? 0) + 1);
    if (e.type === 'interrupted') bump(f.interruptions, String(e.data.reason));
    if (e.type === 'retry') f.retries++;
  }
  f.epochsDoneTwice += [...perEpoch.values()].reduce((s, n) => s + (n - 1), 0);
  if (j.status === 'succeeded') {
    if (!j.outputModelId) f.succeededWithoutModel++;
    const got = (await client.jobs.metrics(j.id)).data.map((m) => m.epoch).join(',');
    const want = Array.from({ length: j.progress.totalEpochs }, (_, k) => k + 1).join(',');
    if (got !== want) f.succeededWithIncompleteMetrics++;
  } else {
    const tail = events.slice(-8).map((e) => `${e.createdAt.slice(11, 23)} ${e.type} ${JSON.stringify(e.data)}`).join('\n      ');
    f.details.push(`  ${j.id} ${j.status} stage ${j.stage} epoch ${j.progress.epoch}/${j.progress.totalEpochs} attempts ${j.attempts} error ${JSON.stringify(j.error)}\n    last events:\n      ${tail}`);
  }
}

export async function readLogs(client: FinetuneClient, jobs: Job[]): Promise<LogFigures> {
  const f: LogFigures = { epochsDoneTwice: 0, succeededWithoutModel: 0, succeededWithIncompleteMetrics: 0, retries: 0, interruptions: {}, details: [] };
  for (const j of jobs) await readJob(client, j, f);
  return f;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export interface ResultInput {
  seed: number;
  submitted: number;
  jobs: Job[];
  lostStates: Record<string, number>;
  logs: LogFigures;
  stats: Stats;
  config: Config;
}

export function result({ seed, submitted, jobs, lostStates, logs, stats, config }: ResultInput): Result {
  const failedCodes: Record<string, number> = {};
  for (const j of jobs.filter((x) => x.status === 'failed')) bump(failedCodes, j.error?.code ?? 'unknown');
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  const startups = [...stats.startupMs].sort((a, b) => a - b);
  return {
    seed,
    wallSeconds: elapsedSeconds(),
    jobs: {
      submitted,
      accepted: jobs.length,
      succeeded: count('succeeded'),
      failed: count('failed'),
      failedCodes,
      cancelled: count('cancelled'),
      lost: jobs.filter((j) => !TERMINAL.has(j.status)).length,
      lostStates,
    },
    faults: { kills: stats.kills, sigterms: stats.sigterms, flushes: stats.flushes, outages: stats.outages },
    responses: stats.responses,
    totalAttempts: jobs.reduce((s, j) => s + j.attempts, 0),
    epochsDoneTwice: logs.epochsDoneTwice,
    stalls: stats.stalls,
    integrity: { succeededWithoutModel: logs.succeededWithoutModel, succeededWithIncompleteMetrics: logs.succeededWithIncompleteMetrics },
    interruptions: logs.interruptions,
    retries: logs.retries,
    workers: {
      started: stats.workersStarted,
      startupSecondsMedian: startups.length ? seconds(startups[Math.floor(startups.length / 2)]) : null,
      startupSecondsMax: startups.length ? seconds(startups.at(-1)!) : null,
      spawnFailures: stats.spawnFailures,
      unexpectedExits: stats.unexpectedExits,
      // A SIGTERMed worker that took its whole grace period: its job was not handed back in time.
      sigtermAtDeadline: stats.sigtermExits.filter((e) => e.ms >= config.shutdownTimeoutMs - 500).length,
      sigtermExits: stats.sigtermExits,
    },
    concurrentRuns: concurrentRuns(stats),
  };
}

function concurrentRuns(stats: Stats): Result['concurrentRuns'] {
  return {
    measured: 'partially',
    leaseLostStops: stats.leaseLostStops,
    orphanedSandboxes: stats.orphanedSandboxes,
    orphansAfter30s: stats.orphansAfter30s,
    note: 'Postgres fencing rejects a second holder\'s writes, so overlap is only seen indirectly: leaseLostStops counts sandboxes that '
      + 'found their job taken by another worker while still training it (their warn log); orphanedSandboxes counts sandboxes still alive '
      + `${ORPHAN_AFTER_MS / 1000} s after their worker was kill -9ed. Overlap that ends before either signal is not measured.`,
  };
}
