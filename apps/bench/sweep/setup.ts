// The services `npm run bench:sweep` runs on: a fresh Postgres database
// (migrated), Redis, an embedded S3 server, the API listening on a port, and
// one worker (its training in sandboxed processes), with a tenant and its key.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../../api/src/app.ts';
import { newApiKey } from '../../shared/auth/api-keys.ts';
import { loadConfigWith, withS3Endpoint } from '../../shared/config.ts';
import { applyMigrations, ensureDatabase } from '../../shared/db/migrator.ts';
import { createDb } from '../../shared/db/prisma.ts';
import { createLogger } from '../../shared/logger.ts';
import { obliterateQueue } from '../../shared/queue/contract.ts';
import { startEmbeddedS3 } from '../../shared/storage/embedded-s3.ts';
import { startWorker } from '../../worker/src/worker.ts';

export interface Services {
  url: string;
  key: string;
  close(): Promise<void>;
}

const withDatabase = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

export async function startServices(env: Record<string, string>): Promise<Services> {
  const id = randomUUID().slice(0, 8);
  const base = loadConfigWith(env);
  const databaseUrl = withDatabase(base.databaseUrl, `bench_sweep_${id}`);
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-sweep-s3-'));
  const s3 = await startEmbeddedS3({ dir, port: 0 });
  const config = withS3Endpoint(loadConfigWith({ ...env, DATABASE_URL: databaseUrl, QUEUE_NAME: `bench-sweep-${id}`, S3_BUCKET: `bench-sweep-${id}` }, { LOG_LEVEL: 'warn' }), s3.endpoint);
  const app = await buildApp(config, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const worker = await startWorker(config, createLogger(config, { role: 'bench-worker' }));
  const db = createDb(databaseUrl);
  const tenantId = randomUUID();
  const fresh = newApiKey();
  await db.tenant.create({ data: { id: tenantId, name: 'bench' } });
  await db.apiKey.create({ data: { id: randomUUID(), tenantId, name: 'bench', prefix: fresh.prefix, hash: fresh.hash } });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    key: fresh.key,
    async close() {
      await worker.close();
      await app.close();
      await obliterateQueue(config);
      await db.$disconnect();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "bench_sweep_${id}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
