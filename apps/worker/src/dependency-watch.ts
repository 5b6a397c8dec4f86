// The worker process's view of its dependencies: while Postgres, Redis or S3
// is down it takes no new jobs from the queue (a job taken now would only wait),
// and it starts taking them again by itself once every one answers.
import type { Redis } from 'ioredis';
import type { Db } from '../../shared/db/prisma.ts';
import type { Dependency } from '../../shared/faults/dependency-error.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';

export interface DependencyWatch {
  /** The dependencies down at the last probe, in a fixed order. */
  down(): Dependency[];
  close(): void;
}

export interface WatchOptions {
  db: Db;
  redis: Redis;
  storage?: Storage;
  intervalMs: number;
  log: Logger;
  /** Called when the set of dependencies that are down changes. */
  onChange(down: Dependency[]): void | Promise<void>;
}

/** A probe that neither answers nor fails within this counts as failed. */
const PROBE_TIMEOUT_MS = 10_000;
/**
 * Failed probes in a row before a dependency counts as down: on a machine short
 * of CPU a probe can be slow or late without anything being down, and pausing
 * then would only keep jobs waiting.
 */
const DOWN_AFTER = 3;

async function answers(probe: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), PROBE_TIMEOUT_MS); });
  try {
    return await Promise.race([probe().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function watchDependencies(opts: WatchOptions): DependencyWatch {
  let down: Dependency[] = [];
  const failures = new Map<Dependency, number>();
  let closed = false;
  let running = false;
  const probes: Array<[Dependency, () => Promise<unknown>]> = [
    ['postgres', () => opts.db.$queryRaw`SELECT 1`],
    ['redis', () => opts.redis.ping()],
    ...(opts.storage ? [['s3', () => opts.storage!.ping()] as [Dependency, () => Promise<unknown>]] : []),
  ];
  const probe = async () => {
    if (running || closed) return;
    running = true;
    try {
      const results = await Promise.all(probes.map(async ([name, fn]) => [name, await answers(fn)] as const));
      for (const [name, ok] of results) failures.set(name, ok ? 0 : (failures.get(name) ?? 0) + 1);
      const now = probes.map(([name]) => name).filter((name) => (failures.get(name) ?? 0) >= DOWN_AFTER);
      // Closed meanwhile: resuming now would restart a worker that is shutting down.
      if (closed) return;
      if (now.join() !== down.join()) {
        if (now.length) opts.log.warn({ down: now }, 'dependency unavailable: taking no new jobs until it is back');
        else opts.log.info({ was: down }, 'dependencies available again: taking jobs');
        down = now;
        await opts.onChange(now);
      }
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'dependency probe failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void probe(), opts.intervalMs);
  timer.unref();
  return {
    down: () => down,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
