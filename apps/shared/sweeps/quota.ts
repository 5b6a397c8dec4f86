// The tenant's queued-jobs limit (MAX_QUEUED_JOBS_PER_TENANT) as a sweep's
// trials meet it: a trial that would exceed it stays pending and starts at a
// later advance of its sweep, once there is room (docs/sweeps.md). The one
// place the sweep reads the tenant's queued count: where the submit path keeps
// a counter, this is what reads it.
import type { Db } from '../db/prisma.ts';
import type { Tx } from '../jobs/job-store.ts';

/** How many more jobs the tenant may queue now (never below 0). */
export async function queuedRoom(tx: Tx | Db, tenantId: string, limit: number): Promise<number> {
  const waiting = await tx.job.count({ where: { tenantId, status: { in: ['queued', 'paused'] } } });
  return Math.max(0, limit - waiting);
}
