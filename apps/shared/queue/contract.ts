// The queue contract both apps share. A BullMQ job carries only the job's id:
// Postgres is the source of truth, and payloads never hold secrets.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';

export const JOB_NAME = 'run-job';

export interface JobPayload {
  jobId: string;
}

export function jobOptions(config: Config, jobId: string): JobsOptions {
  return {
    // Deterministic id: enqueuing the same job twice is a no-op.
    jobId,
    attempts: config.worker.jobAttempts,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * Workers block on Redis, so BullMQ requires maxRetriesPerRequest: null for them.
 * `autoPipeline` (the API's shared connection): commands issued in the same tick,
 * by concurrent requests, leave in one socket write (issue 19).
 */
export function createRedis(config: Config, forWorker = false, autoPipeline = false): Redis {
  return new Redis(config.redisUrl, {
    maxRetriesPerRequest: forWorker ? null : 3,
    enableOfflineQueue: forWorker,
    lazyConnect: false,
    enableAutoPipelining: autoPipeline,
  });
}

export function createQueue(config: Config, connection: ConnectionOptions): Queue<JobPayload> {
  return new Queue<JobPayload>(config.queueName, { connection });
}

/** Drops a queue with every job in it: the teardown of a test's or a benchmark's own queue name. */
export async function obliterateQueue(config: Config): Promise<void> {
  const redis = createRedis(config);
  const queue = new Queue(config.queueName, { connection: redis });
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await redis.quit();
}
