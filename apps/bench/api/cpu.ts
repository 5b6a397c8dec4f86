// `npm run bench:api:cpu`: CPU time per request, the figure that shared cores
// do not blur the way they blur req/s. Sends a fixed number of requests of each
// kind (a few connections, so nothing queues for long) and reads, before and
// after, the CPU time /proc gives for the API process, for this database's
// Postgres backends and for the Redis server (shared with whatever else uses
// it, so its figure is an upper bound). Medians of the repeats.
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createRedis } from '../../shared/queue/contract.ts';
import { BenchEnv, type Target } from './environment.ts';
import { plan } from './load.ts';
import { SCENARIOS, type Scenario } from './options.ts';
import { median } from './report.ts';

const TICK_US = 10_000; // USER_HZ is 100 on Linux: /proc counts CPU time in 10 ms ticks

/** utime + stime of a process in µs; 0 once it is gone. */
async function cpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // fields 14 and 15 of stat(5)
}

const { values } = parseArgs({ options: {
  requests: { type: 'string', default: '3000' },
  connections: { type: 'string', default: '8' },
  repeats: { type: 'string', default: '3' },
  only: { type: 'string' },
  json: { type: 'string' },
  'log-level': { type: 'string', default: 'warn' }, // info: what a request's two log lines cost (written to a pipe)
} });
const requests = Number(values.requests);
const scenarios = (values.only ? values.only.split(',') : [...SCENARIOS]) as Scenario[];
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

const env = new BenchEnv();
try {
  const target: Target = await env.open(1, undefined, values['log-level']);
  const etag = (await fetch(`${target.baseUrls[0]}/v1/jobs/${target.jobId}`, { headers: { authorization: `Bearer ${target.key}` } })).headers.get('etag') ?? undefined;
  const watcher = new pg.Client({ connectionString: env.databaseUrl });
  watcher.on('error', () => undefined); // terminated when the database is dropped at the end
  await watcher.connect();
  const redis = createRedis(env.config!, true);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const pgPids = async () => (await watcher.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
  const snapshot = async (pid: number) => {
    const pids = await pgPids();
    const pgUs = (await Promise.all(pids.map(cpuUs))).reduce((a, b) => a + b, 0);
    return { pids, pgUs, app: await cpuUs(pid), redis: await cpuUs(redisPid) };
  };
  console.log(`load average at the start: ${load()}; ${requests} requests per run, ${values.connections} connections`);
  const rows: Record<string, { app: number[]; pg: number[]; redis: number[]; statuses: Record<string, number> }> = {};
  const send = async (s: Scenario, amount: number) => {
    const p = plan(s, target, etag);
    const url = s === 'hello' ? env.helloUrl : target.baseUrls[0];
    const r = await autocannon({ url, connections: Number(values.connections), amount, requests: [{ method: p.method, path: p.path, body: p.body, headers: p.headers }] });
    return Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([c, v]) => [c, v?.count ?? 0]));
  };
  for (const s of scenarios) await send(s, 500); // warm-up: JIT, pools (every backend opened), caches
  for (let r = 0; r < Number(values.repeats); r++) {
    for (const s of scenarios) {
      const pid = s === 'hello' ? env.helloPid : env.apiPids[0];
      const before = await snapshot(pid);
      const statuses = await send(s, requests);
      const after = await snapshot(pid);
      // Backends that came or went during the run are counted from 0 or not at all; warm-up made the pools full.
      const row = (rows[s] ??= { app: [], pg: [], redis: [], statuses: {} });
      row.app.push((after.app - before.app) / requests);
      row.pg.push((after.pgUs - before.pgUs) / requests);
      row.redis.push((after.redis - before.redis) / requests);
      for (const [c, n] of Object.entries(statuses)) row.statuses[c] = (row.statuses[c] ?? 0) + n;
    }
  }
  await watcher.end().catch(() => undefined);
  await redis.quit();
  const f = (xs: number[]) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;
  console.log('\n| request | API process µs/req | Postgres µs/req | Redis µs/req (upper bound) | responses |\n| --- | --- | --- | --- | --- |');
  for (const [s, r] of Object.entries(rows)) console.log(`| ${s} | ${f(r.app)} | ${f(r.pg)} | ${f(r.redis)} | ${Object.entries(r.statuses).map(([c, n]) => `${c}×${n}`).join(' ')} |`);
  console.log(`\nload average at the end: ${load()}`);
  if (values.json) await writeFile(values.json, JSON.stringify(rows, null, 2));
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await env.close();
}
