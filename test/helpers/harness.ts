// Each test file gets its own Postgres database (cloned from a migrated
// template), its own S3-protocol server and bucket, and its own queue name,
// all real, and removes them afterwards.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp, type App } from '../../apps/api/src/app.ts';
import { loadConfigWith, withS3Endpoint, type Config } from '../../apps/shared/config.ts';
import { createDb, type Db } from '../../apps/shared/db/prisma.ts';
import { applyMigrations, ensureDatabase, readMigrations } from '../../apps/shared/db/migrator.ts';
import { createLogger } from '../../apps/shared/logger.ts';
import { obliterateQueue } from '../../apps/shared/queue/contract.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../apps/shared/storage/embedded-s3.ts';
import { Storage } from '../../apps/shared/storage/s3-storage.ts';
import { startWorker, type RunningWorker } from '../../apps/worker/src/worker.ts';
import { newApiKey } from '../../apps/shared/auth/api-keys.ts';
import { useKey } from './api.ts';
import { TEST_BACKEND_DEFAULTS } from './backend.ts';
import { uploadPrefix } from '../../apps/shared/storage/upload-area.ts';

const TEMPLATE_LOCK = 8_675_309;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A migrated template database, created once per migration set; files clone it. */
async function cloneTestDatabase(baseUrl: string): Promise<string> {
  const hash = createHash('sha256').update((await readMigrations()).map((m) => m.checksum).join()).digest('hex').slice(0, 10);
  const template = `ftest_tpl_${hash}`;
  const name = `ftest_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') });
  await admin.connect();
  try {
    // Serialize: CREATE DATABASE ... TEMPLATE fails while anyone else is connected to the template.
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!exists.rowCount) {
      const staging = `${template}_staging`;
      await admin.query(`DROP DATABASE IF EXISTS "${staging}" WITH (FORCE)`);
      await ensureDatabase(withDatabase(baseUrl, staging));
      await applyMigrations(withDatabase(baseUrl, staging));
      await admin.query(`ALTER DATABASE "${staging}" RENAME TO "${template}"`);
    }
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => undefined);
    await admin.end();
  }
  return withDatabase(baseUrl, name);
}

async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

/** The admin key every test harness runs with. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface Tenant {
  tenantId: string;
  apiKey: string;
}

export interface Harness {
  config: Config;
  app: App;
  /** This file's tenant, whose key http(app) sends by default. */
  tenant: Tenant;
  /** That tenant's upload area in the bucket (uploads/<tenantId>/): the only keys there it may register. */
  uploads: string;
  /** Another tenant, for isolation tests. */
  newTenant(name: string): Promise<Tenant>;
  db: Db;
  storage: Storage;
  worker?: RunningWorker;
  /** Starts a worker (sandboxed training) for this file's queue. */
  startWorker(): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  worker?: boolean;
  /** Extra environment for this file's config. */
  env?: Record<string, string>;
  /** Where the service reaches this file's Postgres and S3, given where they are (test/outages.test.ts puts proxies between). */
  route?: (direct: { databaseUrl: string; s3Endpoint: string }) => Promise<{ databaseUrl: string; s3Endpoint: string }>;
}

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const base = loadConfigWith(opts.env ?? {}, TEST_BACKEND_DEFAULTS);
  const databaseUrl = await cloneTestDatabase(base.databaseUrl);
  const dir = await mkdtemp(path.join(tmpdir(), 'ftest-s3-'));
  const s3: EmbeddedS3 = await startEmbeddedS3({ dir, port: 0 });
  const id = randomUUID().slice(0, 8);
  const routed = (await opts.route?.({ databaseUrl, s3Endpoint: s3.endpoint })) ?? { databaseUrl, s3Endpoint: s3.endpoint };
  const config = withS3Endpoint(
    loadConfigWith({
      CANCEL_POLL_MS: '100',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      // Tests poll hard; test/limits.test.ts sets its own.
      RATE_LIMIT_PER_MINUTE: '100000',
      ...opts.env,
      DATABASE_URL: routed.databaseUrl,
      QUEUE_NAME: `test-${id}`,
      S3_BUCKET: `test-${id}`,
    }, { LOG_LEVEL: 'warn', ...TEST_BACKEND_DEFAULTS }),
    routed.s3Endpoint,
  );
  let app: App | undefined;
  try {
    app = await buildApp(config, { logger: false });
    await app.ready();
  } catch (err) {
    await app?.close().catch(() => undefined);
    // Leave nothing running behind a failed set-up, or the test process hangs.
    await s3.close();
    await rm(dir, { recursive: true, force: true });
    await dropDatabase(databaseUrl);
    throw err;
  }
  if (!app) throw new Error('unreachable');
  const db = createDb(config.databaseUrl);
  const storage = new Storage({ ...config.s3, endpoint: s3.endpoint });
  const newTenant = async (name: string): Promise<Tenant> => {
    const tenantId = randomUUID();
    const fresh = newApiKey();
    await db.tenant.create({ data: { id: tenantId, name } });
    await db.apiKey.create({ data: { id: randomUUID(), tenantId, name: 'test', prefix: fresh.prefix, hash: fresh.hash } });
    return { tenantId, apiKey: fresh.key };
  };
  const tenant = await newTenant('test tenant');
  useKey(app, tenant.apiKey);
  const h: Harness = {
    config,
    app,
    tenant,
    uploads: uploadPrefix(tenant.tenantId),
    newTenant,
    db,
    storage,
    async startWorker() {
      h.worker = await startWorker(config, createLogger(config, { role: 'test-worker' }));
      return h.worker;
    },
    async close() {
      await h.worker?.close();
      await app.close();
      await obliterateQueue(config);
      await db.$disconnect();
      storage.destroy();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
      await dropDatabase(databaseUrl);
    },
  };
  if (opts.worker) await h.startWorker();
  return h;
}
