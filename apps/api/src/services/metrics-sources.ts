// What /metrics reads at scrape time from the sources of truth: jobs and
// per-epoch metrics in Postgres (workers train in other processes, even on
// other hosts), queue depth and worker heartbeats in Redis.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from '../../../shared/db/prisma.ts';
import { listWorkers, type WorkerInfo } from '../../../shared/queue/workers.ts';
import { JOB_STATUSES } from '../schemas/jobs.ts';

export type Labels = Record<string, string>;

/** One label set of a histogram: `counts[i]` observations <= `buckets[i]` (cumulative). */
export interface HistogramSeries {
  labels: Labels;
  counts: number[];
  count: number;
  sum: number;
}

export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'paused'] as const;

export const BUCKETS = {
  jobWaitSeconds: [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 14400, 86400],
  jobRunSeconds: [5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400],
  epochSeconds: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  examplesPerSecond: [10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 500000],
} as const;

export interface JobSnapshot {
  byStatus: Record<string, number>;
  waitSeconds: HistogramSeries[];
  runSeconds: HistogramSeries[];
  epochSeconds: HistogramSeries[];
  examplesPerSecond: HistogramSeries[];
  /** Summed throughput of running jobs (each job's latest epoch), by backend. */
  runningExamplesPerSecond: Record<string, number>;
}

/**
 * Buckets a sample query (label columns plus `v`) in Postgres, so a scrape moves
 * a few rows per label set, not one per job or epoch. Both arguments are
 * constants from this file, never input.
 */
async function histogram(db: Db, samples: string, labelCols: string[], buckets: readonly number[]): Promise<HistogramSeries[]> {
  const cols = labelCols.map((c) => `s."${c}"`).join(', ');
  // bucket = how many bounds lie below v: v falls in the first `le` with v <= le.
  const rows = await db.$queryRawUnsafe<Array<Record<string, unknown> & { bucket: number; n: number; total: number }>>(
    `SELECT ${cols},
       (SELECT count(*) FROM unnest(ARRAY[${buckets.join(',')}]::float8[]) AS b(le) WHERE b.le < s.v)::int AS bucket,
       count(*)::int AS n, sum(s.v)::float8 AS total
     FROM (${samples}) AS s WHERE s.v IS NOT NULL
     GROUP BY ${cols}, bucket`,
  );
  const series = new Map<string, HistogramSeries & { perBucket: number[] }>();
  for (const row of rows) {
    const labels = Object.fromEntries(labelCols.map((c) => [c, String(row[c])]));
    const key = JSON.stringify(labels);
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, counts: [], count: 0, sum: 0, perBucket: new Array(buckets.length + 1).fill(0) }));
    s.perBucket[row.bucket] += row.n;
    s.count += row.n;
    s.sum += row.total;
  }
  return [...series.values()].map(({ perBucket, ...s }) => {
    let running = 0;
    return { ...s, counts: buckets.map((_, i) => (running += perBucket[i])) };
  });
}

// Seconds between two timestamps; clock skew between hosts must not make it negative.
const seconds = (from: string, to: string) => `GREATEST(EXTRACT(EPOCH FROM (j."${to}" - j."${from}")), 0)::float8`;

export async function readJobSnapshot(db: Db): Promise<JobSnapshot> {
  const epochs = (column: string) =>
    `SELECT COALESCE(j.backend, 'unknown') AS backend, ${column} AS v FROM "EpochMetric" m JOIN "Job" j ON j.id = m."jobId"`;
  const [statusRows, waitSeconds, runSeconds, epochSeconds, examplesPerSecond, running] = await Promise.all([
    db.job.groupBy({ by: ['status'], _count: { _all: true } }),
    histogram(db, `SELECT j.type::text AS type, ${seconds('createdAt', 'startedAt')} AS v FROM "Job" j WHERE j."startedAt" IS NOT NULL`, ['type'], BUCKETS.jobWaitSeconds),
    histogram(
      db,
      `SELECT j.type::text AS type, j.status::text AS status, ${seconds('startedAt', 'finishedAt')} AS v
       FROM "Job" j WHERE j."startedAt" IS NOT NULL AND j."finishedAt" IS NOT NULL`,
      ['type', 'status'],
      BUCKETS.jobRunSeconds,
    ),
    histogram(db, epochs(`m."durationMs" / 1000.0`), ['backend'], BUCKETS.epochSeconds),
    histogram(db, epochs(`m."examplesPerSec"`), ['backend'], BUCKETS.examplesPerSecond),
    db.$queryRawUnsafe<Array<{ backend: string; v: number }>>(
      `SELECT DISTINCT ON (m."jobId") COALESCE(j.backend, 'unknown') AS backend, m."examplesPerSec"::float8 AS v
       FROM "EpochMetric" m JOIN "Job" j ON j.id = m."jobId"
       WHERE j.status = 'running' ORDER BY m."jobId", m.epoch DESC`,
    ),
  ]);
  const byStatus: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
  for (const row of statusRows) byStatus[row.status] = row._count._all;
  const runningExamplesPerSecond: Record<string, number> = {};
  for (const r of running) runningExamplesPerSecond[r.backend] = (runningExamplesPerSecond[r.backend] ?? 0) + r.v;
  return { byStatus, waitSeconds, runSeconds, epochSeconds, examplesPerSecond, runningExamplesPerSecond };
}

export interface QueueSnapshot {
  counts: Record<string, number>;
  workers: WorkerInfo[];
}

export async function readQueueSnapshot(queue: Queue, redis: Redis, queueName: string): Promise<QueueSnapshot> {
  const [counts, workers] = await Promise.all([queue.getJobCounts(...QUEUE_STATES), listWorkers(redis, queueName)]);
  return { counts, workers };
}
