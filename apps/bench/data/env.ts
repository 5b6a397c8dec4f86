// The processes `npm run bench:data` measures, each its own: an embedded S3
// server, the API (which registers datasets: the decoding), and one worker
// (its sandbox child trains), on a fresh Postgres database and queue. The
// worker's memory is the sum of its process tree's RSS, sampled.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configToEnv, loadConfig, loadConfigWith, withS3Endpoint, type Config } from '../../shared/config.ts';
import { applyMigrations } from '../../shared/db/migrator.ts';
import { forkChild, runS3Child } from '../children.ts';
import { adminQuery, withDb } from '../scratch-db.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '../../..');
export const ADMIN_KEY = `bench-admin-${randomUUID()}`;

async function runApiChild(): Promise<void> {
  const { buildApp } = await import('../../api/src/app.ts');
  const app = await buildApp(loadConfig());
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send!({ port: (app.server.address() as AddressInfo).port });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

const start = (role: 'api' | 's3', args: string[], env?: NodeJS.ProcessEnv) => forkChild(SELF, [role, ...args], { env });

export interface ProcessRss {
  pid: number;
  rss: number;
  cmd: string;
}

/** RSS in bytes of pid and all its descendants, from /proc; `parts` gets each process's, with its command line. */
export function treeRss(pid: number, parts?: ProcessRss[]): number {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (p: number): boolean => p === pid || (parent.has(p) && p > 1 && inTree(parent.get(p)!));
  let sum = 0;
  for (const p of parent.keys()) {
    if (!inTree(p)) continue;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (!m) continue;
      sum += Number(m[1]) * 1024;
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => path.basename(a)).join(' ');
      parts?.push({ pid: p, rss: Number(m[1]) * 1024, cmd: cmd.slice(0, 80) });
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

export interface BenchEnv {
  baseUrl: string;
  config: Config;
  /** The worker process; its peak tree RSS is sampled every 100 ms. */
  worker: ChildProcess;
  peakWorkerRss(): number;
  /** Each process of the worker's tree at the tree's peak: RSS and command line. */
  peakProcesses(): string[];
  /** Each process's own peak RSS over the run (the sandbox child's may fall at another time than the tree's). */
  processPeaks(): ProcessRss[];
  close(): Promise<void>;
}

export async function setUp(workerEnv: Record<string, string>): Promise<BenchEnv> {
  const id = randomUUID().replace(/-/g, '').slice(0, 10);
  const base = loadConfig();
  const dbName = `bench_data_${id}`;
  await adminQuery(base.databaseUrl, `CREATE DATABASE "${dbName}"`);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-data-s3-'));
  const s3 = await start('s3', [dir]);
  const config = withS3Endpoint(loadConfigWith({
    LOG_LEVEL: 'warn', DATABASE_URL: withDb(base.databaseUrl, dbName), QUEUE_NAME: `bench-data-${id}`, S3_BUCKET: `bench-data-${id}`,
    ADMIN_API_KEY: ADMIN_KEY, RATE_LIMIT_PER_MINUTE: '10000000', MODEL_INSPECT_TIMEOUT_MS: '180000',
  }), String(s3.info.endpoint));
  await applyMigrations(config.databaseUrl);
  const api = await start('api', [], configToEnv(config));
  const worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts')], {
    cwd: ROOT, env: { ...configToEnv(config), ...workerEnv }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  let peak = 0;
  let atPeak: ProcessRss[] = [];
  const each = new Map<number, ProcessRss>();
  const sampler = setInterval(() => {
    const parts: ProcessRss[] = [];
    const rss = treeRss(worker.pid!, parts);
    if (rss > peak) [peak, atPeak] = [rss, parts];
    for (const p of parts) if (p.rss > (each.get(p.pid)?.rss ?? 0)) each.set(p.pid, p);
  }, 100);
  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode === null && c.signalCode === null ? c.once('exit', r) : r(null)));
  return {
    baseUrl: `http://127.0.0.1:${api.info.port}`,
    config,
    worker,
    peakWorkerRss: () => peak,
    peakProcesses: () => atPeak.map((p) => `${(p.rss / 2 ** 20).toFixed(0)} MiB ${p.cmd}`),
    processPeaks: () => [...each.values()].sort((a, b) => b.rss - a.rss),
    async close() {
      clearInterval(sampler);
      worker.kill('SIGTERM');
      api.child.disconnect();
      s3.child.disconnect();
      await Promise.all([worker, api.child, s3.child].map(exited));
      await rm(dir, { recursive: true, force: true });
      await adminQuery(base.databaseUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    },
  };
}

const role = process.argv[2];
if (role === 's3') await runS3Child(process.argv[3]);
else if (role === 'api') await runApiChild();
