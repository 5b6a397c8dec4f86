// What /readyz reports: whether Postgres, Redis and S3 answer, and the live
// workers with their backends (from their Redis heartbeats: the API runs no tfjs).
import type { Redis } from 'ioredis';
import type { Db } from '../../../shared/db/prisma.ts';
import { listWorkers } from '../../../shared/queue/workers.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

export interface Check {
  ok: boolean;
  error?: string;
}

async function check(fn: () => Promise<unknown>): Promise<Check> {
  try {
    await fn();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.slice(0, 200) };
  }
}

export class ReadinessService {
  constructor(
    private readonly deps: { db: Db; redis: Redis; storage: Storage; queueName: string },
  ) {}

  async report() {
    const { db, redis, storage, queueName } = this.deps;
    const [postgres, redisCheck, s3] = await Promise.all([check(() => db.$queryRaw`SELECT 1`), check(() => redis.ping()), check(() => storage.ping())]);
    const workers = redisCheck.ok ? await listWorkers(redis, queueName).catch(() => []) : [];
    const checks = { postgres, redis: redisCheck, s3 };
    const down = (['postgres', 'redis', 's3'] as const).filter((name) => !checks[name].ok);
    return { ready: down.length === 0, down, checks, workers };
  }
}
