// The dependency faults of issue 16: a database restart (its connections reset
// and terminated with 57P01, new ones refused for a few seconds), a storage
// outage (S3 unreachable for --storage-outage seconds, then back with its
// data) and a Redis restart (unreachable, then back empty). Each is made on a
// TCP proxy between the service and the dependency: the shared Postgres and
// Redis keep running for everything else on the machine.
import { adminQuery } from '../scratch-db.ts';
import type { Redis } from 'ioredis';
import { say } from './log.ts';
import type { Stats } from './stats.ts';
import { startTcpProxy, targetOf, type TcpProxy } from './tcp-proxy.ts';

export const OUTAGE_KINDS = ['database restart', 'storage outage', 'redis restart'] as const;
export type OutageKind = (typeof OUTAGE_KINDS)[number];

const DATABASE_RESTART_MS = 5_000;
const REDIS_RESTART_MS = 3_000;

export interface Routes {
  databaseUrl: string;
  redisUrl: string;
  s3Endpoint: string;
}

export class Outages {
  #next = 0;
  #active?: Promise<void>;

  private constructor(
    private readonly proxies: { pg: TcpProxy; redis: TcpProxy; s3: TcpProxy },
    private readonly direct: Routes,
    private readonly storageOutageMs: number,
  ) {}

  /** Proxies in front of Postgres, Redis and S3; route() gives the URLs the service is to use. */
  static async start(direct: Routes, storageOutageMs: number): Promise<Outages> {
    const [pgProxy, redis, s3] = await Promise.all([direct.databaseUrl, direct.redisUrl, direct.s3Endpoint].map((u) => startTcpProxy(targetOf(u))));
    return new Outages({ pg: pgProxy, redis, s3 }, direct, storageOutageMs);
  }

  route(): Routes {
    const { pg: p, redis, s3 } = this.proxies;
    return { databaseUrl: p.via(this.direct.databaseUrl), redisUrl: redis.via(this.direct.redisUrl), s3Endpoint: s3.via(this.direct.s3Endpoint) };
  }

  /** True while an outage is on. */
  get busy(): boolean {
    return this.#active !== undefined;
  }

  /** Starts the next kind of outage in turn (it ends by itself); none while one is on. */
  inject(stats: Stats, redis: Redis): void {
    if (this.#active) return;
    const kind = OUTAGE_KINDS[this.#next++ % OUTAGE_KINDS.length];
    this.#active = this.#run(kind, stats, redis)
      .catch((err: Error) => say(`${kind}: ${err.message}`))
      .finally(() => { this.#active = undefined; });
  }

  async #run(kind: OutageKind, stats: Stats, redis: Redis): Promise<void> {
    const { pg: p, redis: r, s3 } = this.proxies;
    const started = Date.now();
    if (kind === 'database restart') {
      p.cut();
      await this.#terminateBackends();
      say(`fault: database restart (${DATABASE_RESTART_MS / 1000} s)`);
      await sleep(DATABASE_RESTART_MS);
      p.restore();
    } else if (kind === 'storage outage') {
      s3.cut();
      say(`fault: storage outage (${this.storageOutageMs / 1000} s)`);
      await sleep(this.storageOutageMs);
      s3.restore();
    } else {
      r.cut();
      await redis.flushdb();
      say(`fault: redis restart, back empty (${REDIS_RESTART_MS / 1000} s)`);
      await sleep(REDIS_RESTART_MS);
      r.restore();
    }
    stats.outages[kind] = (stats.outages[kind] ?? 0) + 1;
    say(`${kind} over after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** What a restart does to the connections it had: 57P01 (only this soak's database's). */
  async #terminateBackends(): Promise<void> {
    const name = new URL(this.direct.databaseUrl).pathname.slice(1);
    await adminQuery(this.direct.databaseUrl, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  }

  async close(): Promise<void> {
    await this.#active;
    await Promise.all(Object.values(this.proxies).map((p) => p.close()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
