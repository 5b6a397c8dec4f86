// Postgres is the source of truth; Redis only says who works on what next.
// The reconciler puts back into the queue every job Postgres says should run
// but that has nothing behind it in Redis: lost to a FLUSHALL or a Redis
// restart without persistence, handed back by a worker that shut down, or
// enqueued by an API that died between its commit and its enqueue.
import type { Queue } from 'bullmq';
import type { Config } from '../config.ts';
import type { Db } from '../db/prisma.ts';
import { JOB_NAME, jobOptions, type JobPayload } from './contract.ts';

/** States in which some worker will run the BullMQ job, or is running it. */
const LIVE = new Set(['waiting', 'delayed', 'prioritized', 'active', 'waiting-children']);

/** A queued job younger than this may still be on its way into Redis from the API. */
const QUEUED_GRACE_MS = 5_000;

/** Makes sure a BullMQ job will run `jobId` (after `delayMs`); true when it had to enqueue it. */
export async function ensureEnqueued(queue: Queue<JobPayload>, config: Config, jobId: string, delayMs = 0): Promise<boolean> {
  const existing = await queue.getJob(jobId);
  if (existing && LIVE.has(await existing.getState())) return false;
  // A finished BullMQ job under the same id would turn add() into a no-op.
  await existing?.remove().catch(() => undefined);
  await queue.add(JOB_NAME, { jobId }, { ...jobOptions(config, jobId), ...(delayMs > 0 ? { delay: delayMs } : {}) });
  return true;
}

export async function reconcile(db: Db, queue: Queue<JobPayload>, config: Config): Promise<string[]> {
  const now = Date.now();
  const candidates = await db.job.findMany({
    where: {
      OR: [
        { status: 'queued', updatedAt: { lt: new Date(now - QUEUED_GRACE_MS) } },
        // Running, but nobody renews its lease: its worker is gone.
        { status: 'running', OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: new Date(now) } }] },
      ],
    },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
    take: 500,
  });
  const requeued: string[] = [];
  for (const { id } of candidates) {
    if (await ensureEnqueued(queue, config, id)) requeued.push(id);
  }
  return requeued;
}
