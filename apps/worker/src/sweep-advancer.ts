// A training process's way to move its sweep forward (docs/sweeps.md): when a
// trial of a frozen cut has recorded its features, the group's other trials
// start now rather than when a trial ends. The child has no queue of its own,
// so one is opened on first use and kept for the child's life.
import { Queue } from 'bullmq';
import type { Config } from '../../shared/config.ts';
import type { Db } from '../../shared/db/prisma.ts';
import { createRedis, type JobPayload } from '../../shared/queue/contract.ts';
import { advanceSweep } from '../../shared/sweeps/advance.ts';

export type SweepAdvancer = (sweepId: string) => Promise<void>;

export function sweepAdvancer(config: Config, db: Db): SweepAdvancer {
  let queue: Queue<JobPayload> | undefined;
  return async (sweepId) => {
    queue ??= new Queue<JobPayload>(config.queueName, { connection: createRedis(config) });
    await advanceSweep(db, queue, config, sweepId);
  };
}
