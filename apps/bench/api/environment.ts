// What the API bench runs against, all its own: a fresh Postgres database, an
// embedded S3 server, a queue name, a tenant and key made through the admin
// routes, the API as `npm run start:api` runs it (one process per instance),
// and the bare Fastify baseline in a process beside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { configToEnv, loadConfig, loadConfigWith, sandboxEnv, withS3Endpoint, type Config } from '../../shared/config.ts';
import { applyMigrations } from '../../shared/db/migrator.ts';
import { createRedis, obliterateQueue } from '../../shared/queue/contract.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../shared/storage/embedded-s3.ts';

function withPath(url: string, pathname: string): string {
  const u = new URL(url);
  u.pathname = pathname;
  return u.toString();
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Starts `node --import tsx <script>` and resolves once `ready` answers. */
async function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: () => Promise<boolean>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()).length > 20_000 && (output = output.slice(-10_000)));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()).length > 20_000 && (output = output.slice(-10_000)));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited (${child.exitCode}):\n${output}`);
    if (await ready().catch(() => false)) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${args.join(' ')} did not start in time:\n${output}`);
}

export interface Target {
  baseUrls: string[];
  key: string;
  jobId: string;
  datasetId: string;
}

export class BenchEnv {
  readonly runId = randomUUID().replace(/-/g, '').slice(0, 10);
  readonly dbName = `benchapi_${this.runId}`;
  readonly #base = loadConfig();
  readonly databaseUrl = withPath(this.#base.databaseUrl, `/${this.dbName}`);
  config?: Config;
  helloUrl = '';
  readonly #children: ChildProcess[] = [];
  #s3?: EmbeddedS3;
  #s3Dir?: string;
  #dbCreated = false;

  /** The API processes' pids (for their CPU time in /proc), in start order. */
  apiPids: number[] = [];
  helloPid = 0;

  /** `cpuProf`: a directory for the API processes' V8 CPU profiles (written when they exit); `logLevel`: the API's (warn leaves per-request lines out). */
  async open(instances: number, cpuProf?: string, logLevel = 'warn'): Promise<Target> {
    await this.#adminQuery(`CREATE DATABASE "${this.dbName}"`);
    this.#dbCreated = true;
    await applyMigrations(this.databaseUrl);
    this.#s3Dir = await mkdtemp(path.join(tmpdir(), 'bench-api-s3-'));
    this.#s3 = await startEmbeddedS3({ dir: this.#s3Dir, port: 0 });
    const adminKey = randomBytes(24).toString('base64url');
    const config = withS3Endpoint(loadConfigWith({
      LOG_LEVEL: logLevel,
      DATABASE_URL: this.databaseUrl,
      QUEUE_NAME: `bench-api-${this.runId}`,
      S3_BUCKET: `bench-api-${this.runId}`,
      ADMIN_API_KEY: adminKey,
      // The bench measures the hot paths, not these limits (their checks still run on every request).
      RATE_LIMIT_PER_MINUTE: '100000000',
      MAX_QUEUED_JOBS_PER_TENANT: '100000000',
    }), this.#s3.endpoint);
    this.config = config;
    const baseUrls: string[] = [];
    for (let i = 0; i < instances; i++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const prof = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
      const api = await startProcess([...prof, 'apps/api/src/server.ts'], { ...configToEnv(config), PORT: String(port), NODE_ENV: 'production' }, async () => (await fetch(`${url}/healthz`)).ok);
      this.#children.push(api);
      this.apiPids.push(api.pid!);
      baseUrls.push(url);
    }
    const helloPort = await freePort();
    this.helloUrl = `http://127.0.0.1:${helloPort}`;
    const hello = await startProcess(['apps/bench/api/hello.ts', String(helloPort)], sandboxEnv(), async () => (await fetch(this.helloUrl)).ok);
    this.#children.push(hello);
    this.helloPid = hello.pid!;
    return { baseUrls, ...(await this.#seed(baseUrls[0], adminKey)) };
  }

  /** A tenant and key (admin routes), a small MNIST dataset, one job to poll and 20 more. */
  async #seed(url: string, adminKey: string) {
    const call = async (method: string, p: string, key: string, body?: unknown) => {
      const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, any>>;
    };
    const tenant = await call('POST', '/v1/admin/tenants', adminKey, { name: 'bench' });
    const { key } = await call('POST', `/v1/admin/tenants/${tenant.id}/keys`, adminKey, { name: 'bench' });
    const dataset = await call('POST', '/v1/datasets', key, { name: 'digits', source: { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 500 } });
    const job = await call('POST', '/v1/jobs', key, submitBody(dataset.id));
    // A full first page for the list scenario, whether or not the submits ran before it.
    for (let i = 0; i < 20; i++) await call('POST', '/v1/jobs', key, submitBody(dataset.id));
    return { key: key as string, jobId: job.id as string, datasetId: dataset.id as string };
  }

  /** Every job row's id, and every id in the queue (BullMQ job id = job id). */
  async stored(): Promise<{ rows: Set<string>; queued: Set<string> }> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ id: string }>('SELECT id FROM "Job"').finally(() => client.end());
    const redis = createRedis(this.config!);
    const queue = new Queue(this.config!.queueName, { connection: redis });
    try {
      const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'paused']);
      return { rows: new Set(rows.map((r) => r.id)), queued: new Set(jobs.map((j) => j.id!)) };
    } finally {
      await queue.close();
      await redis.quit();
    }
  }

  async close(): Promise<void> {
    for (const c of this.#children) c.kill('SIGTERM');
    await Promise.all(this.#children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    if (this.config) {
      await obliterateQueue(this.config);
    }
    await this.#s3?.close().catch(() => undefined);
    if (this.#s3Dir) await rm(this.#s3Dir, { recursive: true, force: true });
    if (this.#dbCreated) await this.#adminQuery(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`).catch(() => undefined);
  }

  async #adminQuery(sql: string): Promise<void> {
    const admin = new pg.Client({ connectionString: withPath(this.#base.databaseUrl, '/postgres') });
    await admin.connect();
    await admin.query(sql).finally(() => admin.end());
  }
}

/** A small valid pretrain spec: a tiny MLP on the 5-class digits. */
export function submitBody(datasetId: string) {
  return {
    type: 'pretrain',
    trainDatasetId: datasetId,
    architecture: [{ type: 'flatten' }, { type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 5, activation: 'softmax' }],
    hyperparameters: { epochs: 1 },
  };
}
