// The tenant's queued-jobs limit (MAX_QUEUED_JOBS_PER_TENANT) as a sweep's
// trials meet it: a trial that would exceed it stays pending and starts at a
// later advance of its sweep, once there is room (docs/sweeps.md). The one
// place the sweep reads the tenant's queued count: the QueuedJobCount stripes
// that triggers on Job keep (16 rows, however many are queued), as a submit reads them.
import type { Db } from '../db/prisma.ts';
import type { Tx } from '../jobs/job-store.ts';

/** How many more jobs the tenant may queue now (never below 0). */
export async function queuedRoom(tx: Tx | Db, tenantId: string, limit: number): Promise<number> {
  const { _sum } = await tx.queuedJobCount.aggregate({ where: { tenantId }, _sum: { n: true } });
  const waiting = _sum.n ?? 0;
  return Math.max(0, limit - waiting);
}
