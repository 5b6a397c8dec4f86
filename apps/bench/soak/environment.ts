// Everything the soak uses is its own: a fresh Postgres database, an embedded
// S3 server in a temp dir, a dedicated Redis logical database and queue name,
// the API in this process, and a tenant made through the admin routes. close()
// takes it all down again (or, with --keep, leaves the data for a look).
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { buildApp, type App } from '../../api/src/app.ts';
import { FinetuneClient } from '../../client/index.ts';
import { loadConfig, loadConfigWith, withS3Endpoint, type Config } from '../../shared/config.ts';
import { applyMigrations } from '../../shared/db/migrator.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../shared/storage/embedded-s3.ts';
import { adminQuery, withDb } from '../scratch-db.ts';
import { say } from './log.ts';
import type { SoakOptions } from './options.ts';
import { Outages, type Routes } from './outages.ts';
import type { Stats } from './stats.ts';

/** The service's settings for the soak: short leases and locks so faults are noticed fast, limits out of the way. */
function soakSettings(env: SoakEnv, routes: Routes, adminKey: string): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    // Through the proxies the outages are made on.
    DATABASE_URL: routes.databaseUrl,
    REDIS_URL: routes.redisUrl,
    QUEUE_NAME: `soak-${env.runId}`,
    S3_BUCKET: `soak-${env.runId}`,
    ADMIN_API_KEY: adminKey,
    WORKER_LOCK_DURATION_MS: '5000',
    JOB_LEASE_MS: '3000',
    // The soak polls hard and queues everything at once: not what these limits are for.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_QUEUED_JOBS_PER_TENANT: '100000',
    RECONCILE_INTERVAL_MS: '1000',
    JOB_ATTEMPTS: '10',
    CANCEL_POLL_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '15000',
    TRAIN_THREADS: '1',
    OUTAGE_RETRY_MAX_MS: '2000',
    OUTAGE_PROBE_INTERVAL_MS: '500',
  };
}

export class SoakEnv {
  readonly runId = randomUUID().replace(/-/g, '').slice(0, 10);
  readonly dbName = `soak_${this.runId}`;
  readonly #base = loadConfig();
  readonly databaseUrl = withDb(this.#base.databaseUrl, this.dbName);
  readonly redisUrl: string;
  readonly logDir = path.join(tmpdir(), `soak-${this.runId}-logs`);
  readonly redis: Redis;
  config?: Config;
  outages?: Outages;
  #s3Dir?: string;
  #s3?: EmbeddedS3;
  #app?: App;
  #dbCreated = false;

  constructor(private readonly opts: SoakOptions) {
    this.redisUrl = withDb(this.#base.redisUrl, String(opts.redisDb));
    mkdirSync(this.logDir, { recursive: true });
    this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: 3 });
  }

  /** The soak FLUSHDBs its Redis db: one that already holds keys is someone else's, unless --force. */
  async redisIsFree(): Promise<boolean> {
    const keys = await this.redis.dbsize();
    if (keys > 0 && !this.opts.force) {
      say(`redis db ${this.opts.redisDb} already holds ${keys} keys; the soak FLUSHDBs it. Pick another --redis-db, or pass --force.`);
      return false;
    }
    return true;
  }

  /** Database, S3 and the API; returns a client with the key of a tenant made for the soak. */
  async open(stats: Stats): Promise<{ config: Config; client: FinetuneClient }> {
    await adminQuery(this.#base.databaseUrl, `CREATE DATABASE "${this.dbName}"`);
    this.#dbCreated = true;
    const migrations = await applyMigrations(this.databaseUrl);
    this.#s3Dir = await mkdtemp(path.join(tmpdir(), 'soak-s3-'));
    this.#s3 = await startEmbeddedS3({ dir: this.#s3Dir, port: 0 });
    const adminKey = randomBytes(24).toString('base64url');
    this.outages = await Outages.start({ databaseUrl: this.databaseUrl, redisUrl: this.redisUrl, s3Endpoint: this.#s3.endpoint }, this.opts.storageOutageS * 1000);
    const routes = this.outages.route();
    const config = withS3Endpoint(loadConfigWith(soakSettings(this, routes, adminKey)), routes.s3Endpoint);
    this.config = config;
    say(`database ${this.dbName} (${migrations.applied.length} migrations), S3 ${this.#s3.endpoint} in ${this.#s3Dir}, queue ${config.queueName}, logs ${this.logDir}`);

    // The API's own warnings and errors go to a file: the report stays readable.
    this.#app = await buildApp(config, { logger: { level: 'warn', stream: createWriteStream(path.join(this.logDir, 'api.log')) } });
    this.#app.addHook('onResponse', async (_req, reply) => {
      stats.responses[reply.statusCode] = (stats.responses[reply.statusCode] ?? 0) + 1;
    });
    await this.#app.listen({ host: '127.0.0.1', port: 0 });
    const baseUrl = `http://127.0.0.1:${(this.#app.server.address() as AddressInfo).port}`;
    say(`API on ${baseUrl}`);
    const admin = new FinetuneClient({ baseUrl, apiKey: adminKey }).admin;
    const tenant = await admin.tenants.create({ name: 'soak' });
    const { key } = await admin.keys.create(tenant.id, { name: 'soak' });
    return { config, client: new FinetuneClient({ baseUrl, apiKey: key }) };
  }

  /** The job's lease, straight from Postgres (the API does not show it). */
  async jobLease(id: string): Promise<{ leaseLeftS: number | null; leaseToken: number } | undefined> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      // Prisma keeps DateTime as UTC in a timestamp without time zone.
      const { rows } = await client.query<{ leaseLeftS: number | null; leaseToken: number }>(
        `SELECT EXTRACT(EPOCH FROM ("leaseExpiresAt" - (now() AT TIME ZONE 'UTC')))::float8 AS "leaseLeftS", "leaseToken" FROM "Job" WHERE id = $1`, [id]);
      return rows[0];
    } finally {
      await client.end();
    }
  }

  /** After the workers are gone: the API, Redis, S3, and (unless --keep) the data. */
  async close(): Promise<void> {
    await this.#app?.close().catch((err: Error) => say(`closing the API: ${err.message}`));
    await this.outages?.close().catch((err: Error) => say(`closing the proxies: ${err.message}`));
    if (!this.opts.keep) await this.redis.flushdb().catch((err: Error) => say(`final FLUSHDB: ${err.message}`));
    await this.redis.quit().catch(() => undefined);
    await this.#s3?.close().catch((err: Error) => say(`stopping S3: ${err.message}`));
    if (this.opts.keep) {
      say(`kept: database ${this.dbName}, S3 dir ${this.#s3Dir}, redis db ${this.opts.redisDb} (queue ${this.config?.queueName})`);
    } else {
      if (this.#s3Dir) await rm(this.#s3Dir, { recursive: true, force: true }).catch(() => undefined);
      if (this.#dbCreated) await adminQuery(this.#base.databaseUrl, `DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`).catch((err: Error) => say(`dropping ${this.dbName}: ${err.message}`));
    }
    say(`worker logs: ${this.logDir}`);
  }
}
