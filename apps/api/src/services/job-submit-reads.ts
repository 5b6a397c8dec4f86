// What a submit reads before it plans (issue 19): the tenant's queued and paused
// jobs as the QueuedJobCount stripes have them (16 rows, however many are queued),
// and the named datasets that are the tenant's, in one round trip. The count is
// only the early 429, so a full queue is refused before a missing dataset (the
// documented error order); the exact check is the insert's own place-taking
// (JobStore.createStatement), which a race past this read cannot get around.
import type { Dataset } from '../../../shared/generated/prisma/client.ts';
import type { SqlPool } from '../../../shared/db/sql.ts';
import { QUEUE_FULL_SQLSTATE } from '../../../shared/jobs/job-store.ts';

// json_agg turns createdAt into text (UTC, no zone); it is made a Date again below.
const SUBMIT_READS = `SELECT (SELECT coalesce(sum(n), 0)::int FROM "QueuedJobCount" WHERE "tenantId" = $1::uuid) AS waiting,
  (SELECT coalesce(json_agg(d), '[]'::json) FROM "Dataset" d WHERE d.id = ANY($2::uuid[]) AND d."tenantId" = $1::uuid) AS datasets`;

type Row = { waiting: number; datasets: Array<Omit<Dataset, 'createdAt'> & { createdAt: string }> };

/** The tenant's queued and paused jobs, and those of `datasetIds` that are the tenant's. */
export async function submitReads(sql: SqlPool, tenantId: string, datasetIds: string[]): Promise<{ waiting: number; datasets: Dataset[] }> {
  const { rows } = await sql.query<Row>({ name: 'job-submit-counted', text: SUBMIT_READS, values: [tenantId, datasetIds] });
  return { waiting: rows[0].waiting, datasets: rows[0].datasets.map((d) => ({ ...d, createdAt: new Date(`${d.createdAt}Z`) })) };
}

/**
 * The insert found the tenant's queue full: pg's error carries the SQLSTATE as `code`;
 * inside a Prisma transaction it arrives wrapped (P2010), the SQLSTATE in its meta.
 */
export function isQueueFull(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; meta?: unknown; cause?: unknown };
  if (e.code === QUEUE_FULL_SQLSTATE) return true;
  return JSON.stringify(e.meta ?? null).includes(`"${QUEUE_FULL_SQLSTATE}"`) || (e.cause !== err && isQueueFull(e.cause));
}
