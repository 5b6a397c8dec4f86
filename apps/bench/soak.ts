// `npm run soak`: a fault soak. It submits pretrain jobs to an in-process API
// and runs them on real worker processes while it kill -9s and SIGTERMs
// workers at random and FLUSHDBs Redis (Redis losing its data), then checks
// that every accepted job still finished. A script, not a test, and not in CI.
// Everything it uses is its own: a fresh Postgres database, an embedded S3
// server in a temp dir, a dedicated Redis logical database and queue name.
//
//   npm run soak -- [--jobs 20] [--workers 2] [--minutes 10] [--kill-every 8] [--flush-every 30]
//                   [--redis-db 9] [--seed N] [--drain-minutes 2] [--worker-log-level warn] [--keep] [--force]
//
// --keep leaves the database, the S3 dir and the Redis db behind for a look.
// --force runs even when the Redis db already holds keys (they will be flushed).
// Worker logs (warn level unless --worker-log-level says otherwise) stay in a temp dir, named at the end.
// Exit code 0 when no job was lost or failed, 1 otherwise. The last line of
// the report is the same figures as JSON, prefixed `soak-result `.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { buildApp, type App } from '../api/src/app.ts';
import { configToEnv, loadConfig, loadConfigWith, withS3Endpoint, type Config } from '../shared/config.ts';
import { applyMigrations } from '../shared/db/migrator.ts';
import { createDb } from '../shared/db/prisma.ts';
import { newApiKey } from '../shared/auth/api-keys.ts';
import { DEFAULT_TENANT_ID } from '../shared/auth/quickstart-key.ts';
import { listWorkers } from '../shared/queue/workers.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../shared/storage/embedded-s3.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20' },
    workers: { type: 'string', default: '2' },
    minutes: { type: 'string', default: '10' },
    'kill-every': { type: 'string', default: '8' },
    'flush-every': { type: 'string', default: '30' },
    'redis-db': { type: 'string', default: '9' },
    'drain-minutes': { type: 'string', default: '2' },
    seed: { type: 'string' },
    // For digging into a failure: the workers' and sandboxes' log level (their logs land in the log dir).
    'worker-log-level': { type: 'string', default: 'warn' },
    keep: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined, integer = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    console.error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const JOBS = positive('jobs', values.jobs, true);
const WORKERS = positive('workers', values.workers, true);
const MINUTES = positive('minutes', values.minutes);
const KILL_EVERY_S = positive('kill-every', values['kill-every']);
const FLUSH_EVERY_S = positive('flush-every', values['flush-every']);
const DRAIN_MINUTES = positive('drain-minutes', values['drain-minutes']);
const REDIS_DB = Number(values['redis-db']);
if (!Number.isInteger(REDIS_DB) || REDIS_DB < 0 || REDIS_DB > 15) {
  console.error(`--redis-db must be an integer 0..15, got "${values['redis-db']}"`);
  process.exit(2);
}
const SEED = values.seed !== undefined ? positive('seed', values.seed, true) : Math.floor(Math.random() * 2 ** 31);
/** Fraction of kills that are SIGKILL; the rest are SIGTERM. */
const SIGKILL_SHARE = 0.7;
/** A sandbox alive this long after its worker was SIGKILLed is an orphan (it should exit on disconnect). */
const ORPHAN_AFTER_MS = 5_000;
const STARTUP_TIMEOUT_MS = 90_000;
const POLL_MS = 2_000;
/** A running or queued job with no change in status, epoch or attempts for this long gets its state printed. */
const STALL_MS = 30_000;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER_MAIN = path.join(ROOT, 'apps/worker/src/main.ts');
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** BullMQ states in which a worker will still take the job. */
const IN_LINE = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

// mulberry32: the fault schedule follows --seed (the timing of the service does not).
let rngState = SEED >>> 0;
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
/** ~seconds, randomised ±50%. */
const jittered = (seconds: number) => seconds * 1000 * (0.5 + random());

const t0 = Date.now();
const stamp = () => {
  const s = Math.floor((Date.now() - t0) / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
};
const say = (msg: string) => console.log(`${stamp()} ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withPath(url: string, pathname: string): string {
  const u = new URL(url);
  u.pathname = pathname;
  return u.toString();
}

// ---------------------------------------------------------------- environment

const runId = randomUUID().replace(/-/g, '').slice(0, 10);
const base = loadConfig();
const dbName = `soak_${runId}`;
const databaseUrl = withPath(base.databaseUrl, `/${dbName}`);
const redisUrl = withPath(base.redisUrl, `/${REDIS_DB}`);
const logDir = path.join(tmpdir(), `soak-${runId}-logs`);
mkdirSync(logDir, { recursive: true });

let s3Dir: string | undefined;
let s3: EmbeddedS3 | undefined;
let app: App | undefined;
let redis: Redis | undefined;
let dbCreated = false;
let config: Config | undefined;

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withPath(base.databaseUrl, '/postgres') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** The job's lease, straight from Postgres (the API does not show it). */
async function jobRow(id: string): Promise<{ leaseLeftS: number | null; leaseToken: number } | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
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

// ---------------------------------------------------------------- workers

interface WorkerProc {
  n: number;
  child: ChildProcess;
  pid: number;
  /** starting: waiting for its heartbeat; live: may be picked for a fault; stopping: SIGTERMed; dead: exited. */
  state: 'starting' | 'live' | 'stopping' | 'dead';
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: WriteStream;
  spawnedAt: number;
}

const workers: WorkerProc[] = [];
let workerSeq = 0;
const stats = {
  kills: 0,
  sigterms: 0,
  flushes: 0,
  spawnFailures: 0,
  unexpectedExits: 0,
  workersStarted: 0,
  sigtermExits: [] as Array<{ code: number | null; signal: string | null; ms: number }>,
  orphanedSandboxes: 0,
  orphansAfter30s: 0,
  leaseLostStops: 0,
  workerLog: new Map<string, number>(),
  submitRetries: 0,
  stalls: 0,
  startupMs: [] as number[],
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const AWS_NOTICE = /NodeVersionSupportWarning|versions published after the first week|will require node >=|To continue receiving updates to AWS|and security updates please upgrade|More information can be found at: https:\/\/a\.co|node --trace-warnings/;

/** Warn/error lines from workers and their sandboxes, by level and message. */
function scanWorkerOutput(chunk: string, carry: { rest: string }) {
  const lines = (carry.rest + chunk).split('\n');
  carry.rest = lines.pop() ?? '';
  for (const line of lines) {
    if (!line.trim()) continue;
    let level = 'raw';
    let msg = line.slice(0, 120);
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string; role?: string; err?: unknown };
      level = parsed.level === 60 ? 'fatal' : parsed.level === 50 ? 'error' : parsed.level === 40 ? 'warn' : String(parsed.level);
      const err = typeof parsed.err === 'string' ? parsed.err : (parsed.err as { message?: string } | undefined)?.message;
      // Job ids vary; the message is what groups them.
      msg = `${parsed.role ?? '?'}: ${parsed.msg ?? ''}${err ? ` (${err.replace(UUID, '<id>').slice(0, 100)})` : ''}`;
    } catch {
      // Not a pino line (a stack trace, a runtime warning): counted raw, minus the AWS SDK's Node-version notice.
      if (AWS_NOTICE.test(line)) continue;
    }
    if (/lost the job's lease|another worker holds the job now/.test(line)) stats.leaseLostStops++;
    if (level !== 'warn' && level !== 'error' && level !== 'fatal' && level !== 'raw') continue;
    const key = `${level} ${msg}`;
    stats.workerLog.set(key, (stats.workerLog.get(key) ?? 0) + 1);
  }
}

function spawnWorkerProc(): WorkerProc {
  const n = ++workerSeq;
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    env: { ...configToEnv(config!), LOG_LEVEL: values['worker-log-level'] },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: cleanup can take its sandboxes with it, and a
    // terminal's Ctrl-C reaches only this script, which then cleans up.
    detached: true,
  });
  if (child.pid === undefined) throw new Error('could not spawn a worker process');
  const log = createWriteStream(path.join(logDir, `worker-${n}.log`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const w: WorkerProc = { n, child, pid: child.pid, state: 'starting', exited, log, spawnedAt: Date.now() };
  const out = { rest: '' };
  const err = { rest: '' };
  child.stdout!.on('data', (b: Buffer) => { log.write(b); scanWorkerOutput(b.toString(), out); });
  child.stderr!.on('data', (b: Buffer) => { log.write(b); scanWorkerOutput(b.toString(), err); });
  void exited.then(({ code, signal }) => {
    if (w.state === 'starting') {
      stats.spawnFailures++;
      say(`worker #${n} (pid ${w.pid}) exited before it started (code ${code}, signal ${signal}); see ${String(log.path)}`);
    } else if (w.state === 'live') {
      stats.unexpectedExits++;
      say(`worker #${n} (pid ${w.pid}) exited on its own (code ${code}, signal ${signal}); see ${String(log.path)}`);
    }
    w.state = 'dead';
    log.end();
  });
  workers.push(w);
  stats.workersStarted++;
  void waitReady(w);
  return w;
}

/** A worker is live once its heartbeat is in Redis (it logs 'worker started' only at info). */
async function waitReady(w: WorkerProc) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (w.state === 'starting' && Date.now() < deadline) {
    const found = await listWorkers(redis!, config!.queueName).catch(() => []);
    if (found.some((i) => i.pid === w.pid)) {
      if (w.state === 'starting') {
        w.state = 'live';
        stats.startupMs.push(Date.now() - w.spawnedAt);
      }
      return;
    }
    await sleep(250);
  }
  // A FLUSHDB may have taken the key before we saw it; a process still up after this long has started.
  if (w.state === 'starting') {
    say(`worker #${w.n} (pid ${w.pid}): no heartbeat seen in ${STARTUP_TIMEOUT_MS / 1000} s; treating it as live`);
    w.state = 'live';
  }
}

/** CPU seconds a process has used (utime + stime), from /proc; undefined once it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the comm field: state is [0], utime [11], stime [12], in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Children of a process, from /proc (the sandboxes of a worker). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const liveWorkers = () => workers.filter((w) => w.state === 'live');
const runningWorkers = () => workers.filter((w) => w.state === 'live' || w.state === 'starting');

function injectKill() {
  const candidates = liveWorkers();
  if (!candidates.length) return false;
  const w = candidates[Math.floor(random() * candidates.length)];
  if (random() < SIGKILL_SHARE) {
    const sandboxes = childrenOf(w.pid);
    w.state = 'stopping';
    w.child.kill('SIGKILL');
    stats.kills++;
    say(`fault: kill -9 worker #${w.n} (pid ${w.pid}, sandboxes ${sandboxes.join(',') || 'none'})`);
    // Sandboxes exit when their IPC channel closes; one still alive later may be training next to the job's new holder.
    setTimeout(() => {
      const orphans = sandboxes.filter(alive);
      if (!orphans.length) return;
      stats.orphanedSandboxes += orphans.length;
      const cpu = new Map(orphans.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
      say(`sandbox(es) ${orphans.join(',')} of killed worker #${w.n} still alive ${ORPHAN_AFTER_MS / 1000} s later`);
      setTimeout(() => {
        const lasting = orphans.filter(alive);
        stats.orphansAfter30s += lasting.length;
        // CPU used meanwhile tells a sandbox still training from one sitting idle.
        if (lasting.length) say(`sandbox(es) ${lasting.map((pid) => `${pid} (${((cpuSeconds(pid) ?? 0) - cpu.get(pid)!).toFixed(1)} CPU s in the last 25 s)`).join(', ')} of killed worker #${w.n} still alive 30 s later`);
      }, 30_000 - ORPHAN_AFTER_MS).unref();
    }, ORPHAN_AFTER_MS).unref();
  } else {
    w.state = 'stopping';
    const sent = Date.now();
    w.child.kill('SIGTERM');
    stats.sigterms++;
    say(`fault: SIGTERM worker #${w.n} (pid ${w.pid})`);
    void w.exited.then(({ code, signal }) => {
      stats.sigtermExits.push({ code, signal, ms: Date.now() - sent });
      say(`worker #${w.n} exited after SIGTERM: code ${code}${signal ? `, signal ${signal}` : ''}, ${((Date.now() - sent) / 1000).toFixed(1)} s`);
    });
  }
  spawnWorkerProc();
  return true;
}

async function injectFlush() {
  await redis!.flushdb();
  stats.flushes++;
  say(`fault: FLUSHDB redis db ${REDIS_DB}`);
}

/** Keeps --workers processes running or starting (replaces any that died on their own). */
function topUp() {
  let missing = WORKERS - runningWorkers().length;
  while (missing-- > 0) {
    const w = spawnWorkerProc();
    say(`started worker #${w.n} (pid ${w.pid}) to keep ${WORKERS} running`);
  }
}

// ---------------------------------------------------------------- API client

let api = '';
/** The soak's own tenant key, made in its fresh database. */
let apiKey = '';

async function call<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${api}${url}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed as T };
}

type Job = { id: string; status: string; attempts: number; stage: string | null; error: { code: string; message: string } | null; outputModelId: string | null; progress: { epoch: number; totalEpochs: number } };
type Event = { id: string; type: string; data: Record<string, any>; createdAt: string };

async function allEvents(jobId: string): Promise<Event[]> {
  const out: Event[] = [];
  let after: string | null = null;
  for (;;) {
    const res: { status: number; body: { data: Event[]; hasMore: boolean; nextCursor: string | null } } =
      await call('GET', `/v1/jobs/${jobId}/events?limit=500${after ? `&after=${after}` : ''}`);
    if (res.status !== 200) throw new Error(`events of ${jobId}: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.data);
    if (!res.body.hasMore || !res.body.nextCursor) return out;
    after = res.body.nextCursor;
  }
}

// ---------------------------------------------------------------- cleanup

let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const w of workers) if (w.state !== 'dead') w.state = 'stopping';
    // Workers and whatever their process groups hold (sandboxes, orphans included).
    for (const w of workers) {
      try {
        process.kill(-w.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
    }
    await Promise.race([Promise.all(workers.map((w) => w.exited)), sleep(5_000)]);
    await app?.close().catch((err: Error) => say(`closing the API: ${err.message}`));
    if (!values.keep) {
      await redis?.flushdb().catch((err: Error) => say(`final FLUSHDB: ${err.message}`));
    }
    await redis?.quit().catch(() => undefined);
    await s3?.close().catch((err: Error) => say(`stopping S3: ${err.message}`));
    if (values.keep) {
      say(`kept: database ${dbName}, S3 dir ${s3Dir}, redis db ${REDIS_DB} (queue ${config?.queueName})`);
    } else {
      if (s3Dir) await rm(s3Dir, { recursive: true, force: true }).catch(() => undefined);
      if (dbCreated) await adminQuery(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((err: Error) => say(`dropping ${dbName}: ${err.message}`));
    }
    say(`worker logs: ${logDir}`);
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      console.error('second signal: exiting without finishing cleanup');
      process.exit(130);
    }
    interrupted = true;
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Last resort (an exception on the way): no worker outlives the script.
process.on('exit', () => {
  for (const w of workers) {
    try {
      process.kill(-w.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

// ---------------------------------------------------------------- the soak

interface Result {
  seed: number;
  wallSeconds: number;
  jobs: { submitted: number; accepted: number; succeeded: number; failed: number; failedCodes: Record<string, number>; cancelled: number; lost: number; lostStates: Record<string, number> };
  faults: { kills: number; sigterms: number; flushes: number };
  totalAttempts: number;
  epochsDoneTwice: number;
  stalls: number;
  integrity: { succeededWithoutModel: number; succeededWithIncompleteMetrics: number };
  interruptions: Record<string, number>;
  retries: number;
  workers: { started: number; startupSecondsMedian: number | null; startupSecondsMax: number | null; spawnFailures: number; unexpectedExits: number; sigtermAtDeadline: number; sigtermExits: Array<{ code: number | null; signal: string | null; ms: number }> };
  concurrentRuns: { measured: 'partially'; leaseLostStops: number; orphanedSandboxes: number; orphansAfter30s: number; note: string };
}

async function main(): Promise<number> {
  say(`soak ${runId}: jobs ${JOBS}, workers ${WORKERS}, minutes ${MINUTES}, kill every ~${KILL_EVERY_S} s, flush every ~${FLUSH_EVERY_S} s, redis db ${REDIS_DB}, seed ${SEED}`);

  redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const keys = await redis.dbsize();
  if (keys > 0 && !values.force) {
    say(`redis db ${REDIS_DB} already holds ${keys} keys; the soak FLUSHDBs it. Pick another --redis-db, or pass --force.`);
    return 2;
  }

  await adminQuery(`CREATE DATABASE "${dbName}"`);
  dbCreated = true;
  const migrations = await applyMigrations(databaseUrl);
  {
    const db = createDb(databaseUrl, { poolMax: 1 });
    const fresh = newApiKey();
    await db.apiKey.create({ data: { id: randomUUID(), tenantId: DEFAULT_TENANT_ID, name: 'soak', prefix: fresh.prefix, hash: fresh.hash } });
    await db.$disconnect();
    apiKey = fresh.key;
  }
  s3Dir = await mkdtemp(path.join(tmpdir(), 'soak-s3-'));
  s3 = await startEmbeddedS3({ dir: s3Dir, port: 0 });
  config = withS3Endpoint(
    loadConfigWith({
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_NAME: `soak-${runId}`,
      S3_BUCKET: `soak-${runId}`,
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
    }),
    s3.endpoint,
  );
  say(`database ${dbName} (${migrations.applied.length} migrations), S3 ${s3.endpoint} in ${s3Dir}, queue ${config.queueName}, logs ${logDir}`);

  // The API's own warnings and errors go to a file: the report stays readable.
  app = await buildApp(config, { logger: { level: 'warn', stream: createWriteStream(path.join(logDir, 'api.log')) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  say(`API on ${api}`);

  for (let i = 0; i < WORKERS; i++) spawnWorkerProc();
  const readyBy = Date.now() + STARTUP_TIMEOUT_MS;
  while (liveWorkers().length < WORKERS && Date.now() < readyBy && !interrupted) await sleep(250);
  say(`${liveWorkers().length} worker(s) live: ${liveWorkers().map((w) => `#${w.n} pid ${w.pid}`).join(', ')}`);

  const ds = await call<{ id: string; numExamples: number }>('POST', '/v1/datasets',
    { name: 'soak digits 0-4', source: { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 2000 } },
    { 'idempotency-key': `soak-${runId}-dataset` });
  if (ds.status !== 201) throw new Error(`dataset registration: ${ds.status} ${JSON.stringify(ds.body)}`);
  say(`dataset ${ds.body.id}: ${ds.body.numExamples} examples`);

  const accepted = new Map<string, Job>();
  for (let i = 0; i < JOBS; i++) {
    const body = {
      type: 'pretrain',
      name: `soak ${i + 1}`,
      architecture: [
        { type: 'flatten' },
        { type: 'dense', units: 32, activation: 'relu' },
        { type: 'dense', units: 5, activation: 'softmax' },
      ],
      hyperparameters: { epochs: 4 + (i % 3), batchSize: 8, learningRate: 0.01, seed: 1000 + i },
      trainDatasetId: ds.body.id,
    };
    // The same key on a retry: with idempotency the retry cannot make a second job.
    const key = `soak-${runId}-job-${i}`;
    for (let attempt = 1; ; attempt++) {
      const res = await call<Job>('POST', '/v1/jobs', body, { 'idempotency-key': key }).catch((err: Error) => ({ status: 0, body: { error: err.message } as unknown as Job }));
      if (res.status === 202) {
        accepted.set(res.body.id, res.body);
        break;
      }
      if (attempt >= 3 || (res.status >= 400 && res.status < 500)) {
        say(`job ${i + 1} not accepted: ${res.status} ${JSON.stringify(res.body)}`);
        break;
      }
      stats.submitRetries++;
      await sleep(1000);
    }
  }
  say(`submitted ${JOBS}, accepted ${accepted.size}`);

  const poll = async () => {
    for (const id of accepted.keys()) {
      const res = await call<Job>('GET', `/v1/jobs/${id}`).catch(() => undefined);
      if (res?.status === 200) accepted.set(id, res.body);
    }
  };
  // Watchdog: a job that makes no visible progress for STALL_MS, with where Postgres and BullMQ have it.
  const queue = new Queue(config.queueName, { connection: redis! });
  const queueState = (id: string): Promise<string> =>
    queue.getJob(id).then((b) => (b ? b.getState() : 'absent')).catch((err: Error) => `unknown (${err.message})`);
  const seen = new Map<string, { key: string; since: number; reported: boolean }>();
  const watchdog = async () => {
    for (const j of accepted.values()) {
      if (TERMINAL.has(j.status)) continue;
      const key = `${j.status}/${j.progress.epoch}/${j.attempts}`;
      const prev = seen.get(j.id);
      if (!prev || prev.key !== key) {
        seen.set(j.id, { key, since: Date.now(), reported: false });
        continue;
      }
      if (prev.reported || Date.now() - prev.since < STALL_MS) continue;
      const state = await queueState(j.id);
      // A queued job still in line in Redis is just waiting its turn.
      if (j.status === 'queued' && IN_LINE.has(state)) continue;
      prev.reported = true;
      stats.stalls++;
      const row = await jobRow(j.id).catch(() => undefined);
      const lease = row?.leaseLeftS != null ? `${row.leaseLeftS.toFixed(1)} s` : 'none';
      say(`no progress for ${STALL_MS / 1000} s: job ${j.id} ${j.status} epoch ${j.progress.epoch}/${j.progress.totalEpochs} attempts ${j.attempts}; lease left ${lease}, token ${row?.leaseToken}; BullMQ state ${state}`);
    }
  };
  const unfinished = () => [...accepted.values()].filter((j) => !TERMINAL.has(j.status));
  const summary = () => {
    const by = new Map<string, number>();
    for (const j of accepted.values()) by.set(j.status, (by.get(j.status) ?? 0) + 1);
    return [...by].map(([s, n]) => `${s} ${n}`).join(', ');
  };

  // Faults, while jobs are unfinished and the budget lasts.
  const faultsUntil = Date.now() + MINUTES * 60_000;
  let nextKill = Date.now() + jittered(KILL_EVERY_S);
  let nextFlush = Date.now() + jittered(FLUSH_EVERY_S);
  let nextPoll = 0;
  let nextReport = Date.now() + 15_000;
  while (!interrupted && Date.now() < faultsUntil) {
    if (Date.now() >= nextPoll) {
      await poll();
      await watchdog();
      nextPoll = Date.now() + POLL_MS;
      if (!unfinished().length) break;
    }
    if (Date.now() >= nextKill) {
      // No live worker (all starting): try again shortly.
      nextKill = injectKill() ? Date.now() + jittered(KILL_EVERY_S) : Date.now() + 1_000;
    }
    if (Date.now() >= nextFlush) {
      await injectFlush().catch((err: Error) => say(`FLUSHDB failed: ${err.message}`));
      nextFlush = Date.now() + jittered(FLUSH_EVERY_S);
    }
    topUp();
    if (Date.now() >= nextReport) {
      say(`jobs: ${summary()} | workers live ${liveWorkers().length}, starting ${workers.filter((w) => w.state === 'starting').length}, stopping ${workers.filter((w) => w.state === 'stopping').length} | kills ${stats.kills}, sigterms ${stats.sigterms}, flushes ${stats.flushes}`);
      nextReport = Date.now() + 15_000;
    }
    await sleep(250);
  }
  if (interrupted) return 130;

  // No more faults: the remaining workers get a while to finish.
  if (unfinished().length) {
    say(`fault budget spent with ${unfinished().length} job(s) unfinished (${summary()}); up to ${DRAIN_MINUTES} min more without faults`);
    const drainUntil = Date.now() + DRAIN_MINUTES * 60_000;
    while (!interrupted && Date.now() < drainUntil) {
      topUp();
      await poll();
      await watchdog();
      if (!unfinished().length) break;
      if (Date.now() >= nextReport) {
        say(`jobs: ${summary()} | workers live ${liveWorkers().length}`);
        nextReport = Date.now() + 15_000;
      }
      await sleep(POLL_MS);
    }
    if (interrupted) return 130;
  }
  await poll();
  // Where Redis has each unfinished job: in line or active means slow, absent means nothing would run it.
  const lostQueueStates: Record<string, number> = {};
  for (const j of unfinished()) {
    const state = `${j.status}/${await queueState(j.id)}`;
    lostQueueStates[state] = (lostQueueStates[state] ?? 0) + 1;
  }
  await queue.close().catch(() => undefined);
  say(`done: ${summary()}`);

  // ------------------------------------------------------------ the figures
  const jobs = [...accepted.values()];
  const failedCodes: Record<string, number> = {};
  for (const j of jobs.filter((x) => x.status === 'failed')) {
    const code = j.error?.code ?? 'unknown';
    failedCodes[code] = (failedCodes[code] ?? 0) + 1;
  }
  let epochsDoneTwice = 0;
  let succeededWithoutModel = 0;
  let succeededWithIncompleteMetrics = 0;
  let retries = 0;
  const interruptions: Record<string, number> = {};
  const details: string[] = [];
  for (const j of jobs) {
    const events = await allEvents(j.id);
    const perEpoch = new Map<number, number>();
    for (const e of events) {
      if (e.type === 'epoch' && typeof e.data.epoch === 'number') perEpoch.set(e.data.epoch, (perEpoch.get(e.data.epoch) ?? 0) + 1);
      if (e.type === 'interrupted') interruptions[String(e.data.reason)] = (interruptions[String(e.data.reason)] ?? 0) + 1;
      if (e.type === 'retry') retries++;
    }
    const extra = [...perEpoch.values()].reduce((s, n) => s + (n - 1), 0);
    epochsDoneTwice += extra;
    if (j.status === 'succeeded') {
      if (!j.outputModelId) succeededWithoutModel++;
      const metrics = await call<{ data: Array<{ epoch: number }> }>('GET', `/v1/jobs/${j.id}/metrics`);
      const got = metrics.body.data.map((m) => m.epoch).join(',');
      const want = Array.from({ length: j.progress.totalEpochs }, (_, k) => k + 1).join(',');
      if (got !== want) succeededWithIncompleteMetrics++;
    }
    if (j.status !== 'succeeded') {
      const tail = events.slice(-8).map((e) => `${e.createdAt.slice(11, 23)} ${e.type} ${JSON.stringify(e.data)}`).join('\n      ');
      details.push(`  ${j.id} ${j.status} stage ${j.stage} epoch ${j.progress.epoch}/${j.progress.totalEpochs} attempts ${j.attempts} error ${JSON.stringify(j.error)}\n    last events:\n      ${tail}`);
    }
  }
  const failed = jobs.filter((j) => j.status === 'failed').length;
  const startups = [...stats.startupMs].sort((a, b) => a - b);
  const startupMedian = startups.length ? Math.round(startups[Math.floor(startups.length / 2)] / 100) / 10 : null;
  const startupMax = startups.length ? Math.round(startups.at(-1)! / 100) / 10 : null;
  // A SIGTERMed worker that took its whole grace period: its job was not handed back in time.
  const atDeadline = stats.sigtermExits.filter((e) => e.ms >= config!.shutdownTimeoutMs - 500).length;
  const lost = jobs.filter((j) => !TERMINAL.has(j.status)).length;
  const result: Result = {
    seed: SEED,
    wallSeconds: Math.round((Date.now() - t0) / 1000),
    jobs: {
      submitted: JOBS,
      accepted: accepted.size,
      succeeded: jobs.filter((j) => j.status === 'succeeded').length,
      failed,
      failedCodes,
      cancelled: jobs.filter((j) => j.status === 'cancelled').length,
      lost,
      lostStates: lostQueueStates,
    },
    faults: { kills: stats.kills, sigterms: stats.sigterms, flushes: stats.flushes },
    totalAttempts: jobs.reduce((s, j) => s + j.attempts, 0),
    epochsDoneTwice,
    stalls: stats.stalls,
    integrity: { succeededWithoutModel, succeededWithIncompleteMetrics },
    interruptions,
    retries,
    workers: { started: stats.workersStarted, startupSecondsMedian: startupMedian, startupSecondsMax: startupMax, spawnFailures: stats.spawnFailures, unexpectedExits: stats.unexpectedExits, sigtermAtDeadline: atDeadline, sigtermExits: stats.sigtermExits },
    concurrentRuns: {
      measured: 'partially',
      leaseLostStops: stats.leaseLostStops,
      orphanedSandboxes: stats.orphanedSandboxes,
      orphansAfter30s: stats.orphansAfter30s,
      note: 'Postgres fencing rejects a second holder\'s writes, so overlap is only seen indirectly: leaseLostStops counts sandboxes that '
        + 'found their job taken by another worker while still training it (their warn log); orphanedSandboxes counts sandboxes still alive '
        + `${ORPHAN_AFTER_MS / 1000} s after their worker was kill -9ed. Overlap that ends before either signal is not measured.`,
    },
  };

  console.log('');
  console.log(`soak ${runId} (seed ${SEED}), ${result.wallSeconds} s`);
  console.log(`jobs: accepted ${result.jobs.accepted}/${JOBS}, succeeded ${result.jobs.succeeded}, failed ${failed}${failed ? ` ${JSON.stringify(failedCodes)}` : ''}, cancelled ${result.jobs.cancelled}, lost ${lost}${lost ? ` (Postgres status/BullMQ state: ${Object.entries(lostQueueStates).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`);
  console.log(`faults: kill -9 ${stats.kills}, SIGTERM ${stats.sigterms}, FLUSHDB ${stats.flushes}`);
  console.log(`attempts: ${result.totalAttempts} in all (${(result.totalAttempts / Math.max(1, accepted.size)).toFixed(2)} per job); retries after transient failures ${retries}`);
  console.log(`interruptions recorded: ${Object.entries(interruptions).map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
  console.log(`epochs done twice: ${epochsDoneTwice}`);
  console.log(`stalls: ${stats.stalls} time(s) a job showed no progress for ${STALL_MS / 1000} s or more`);
  console.log(`integrity: succeeded without output model ${succeededWithoutModel}, succeeded without exactly one metric row per epoch ${succeededWithIncompleteMetrics}`);
  console.log(`workers: ${stats.workersStarted} started (spawn to first heartbeat: median ${startupMedian} s, max ${startupMax} s), ${stats.spawnFailures} failed to start, ${stats.unexpectedExits} exited on their own; SIGTERM exits (${atDeadline} took the whole ${config!.shutdownTimeoutMs / 1000} s grace): ${stats.sigtermExits.map((e) => `${e.code ?? e.signal} in ${(e.ms / 1000).toFixed(1)} s`).join(', ') || 'none'}`);
  console.log(`ran on two workers at once: partially measurable; lease-lost stops ${stats.leaseLostStops}, sandboxes outliving their kill -9ed worker by 5 s ${stats.orphanedSandboxes}, by 30 s ${stats.orphansAfter30s} (${result.concurrentRuns.note})`);
  const logLines = [...stats.workerLog].sort((a, b) => b[1] - a[1]);
  if (logLines.length) {
    console.log('worker warnings and errors (count, level, role: message):');
    for (const [k, n] of logLines.slice(0, 15)) console.log(`  ${String(n).padStart(4)} ${k}`);
  }
  if (details.length) {
    console.log('jobs that did not succeed:');
    for (const d of details) console.log(d);
  }
  console.log(`soak-result ${JSON.stringify(result)}`);
  return lost === 0 && failed === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`${stamp()} soak aborted:`, err);
  code = 1;
} finally {
  if (!interrupted) await cleanup();
}
if (!interrupted) process.exit(code);
