// The tenant's queued-jobs limit (MAX_QUEUED_JOBS_PER_TENANT) as a sweep's
// trials meet it: a trial that would exceed it stays pending and starts at a
// later advance of its sweep, once there is room (docs/sweeps.md). The one
// place the sweep reads the tenant's queued count: the QueuedJobCount stripes
// that triggers on Job keep (16 rows, however many are queued), as a submit reads them.
//
// The caller inserts its jobs (all in stripe 0) before it commits; a submit's
// fast path assumes at most one uncommitted job per stripe. So this locks every
// stripe of the tenant, in stripe order as a submit's slow path does (no
// deadlock), until the caller commits: a submit meanwhile waits, then counts
// what this transaction inserted. Missing stripe rows (a restore, a manual
// delete) are put back first, so a tenant is never refused for want of them.
import type { Db } from '../db/prisma.ts';
import type { Tx } from '../jobs/job-store.ts';

/** How many more jobs the tenant may queue now (never below 0); holds the tenant's queued-count stripes until `tx` ends. */
export async function queuedRoom(tx: Tx, tenantId: string, limit: number): Promise<number> {
  await tx.$executeRaw`INSERT INTO "QueuedJobCount" ("tenantId", stripe, n) SELECT ${tenantId}::uuid, s, 0 FROM generate_series(0, 15) s ON CONFLICT DO NOTHING`;
  const rows = await tx.$queryRaw<Array<{ n: number }>>`SELECT n FROM "QueuedJobCount" WHERE "tenantId" = ${tenantId}::uuid ORDER BY stripe FOR NO KEY UPDATE`;
  const waiting = rows.reduce((a, r) => a + Number(r.n), 0);
  return Math.max(0, limit - waiting);
}

/** The tenant's queued and paused jobs as the stripes have them (no lock: an early refusal only). */
export async function queuedCount(db: Db | Tx, tenantId: string): Promise<number> {
  const { _sum } = await db.queuedJobCount.aggregate({ where: { tenantId }, _sum: { n: true } });
  return _sum.n ?? 0;
}
