// `npx tsx apps/bench/api/query-log.ts`: the SQL statements and Redis commands
// each hot request makes, in order (issue 19's profile). Builds the API in this
// process on a fresh database, sends one request of each kind through inject(),
// and prints what went over the wire to Postgres (every pg query, whatever sent
// it) and to Redis (ioredis's sendCommand).
import pg from 'pg';
import { Redis } from 'ioredis';
import { buildApp } from '../../api/src/app.ts';
import { BenchEnv, submitBody } from './environment.ts';

const env = new BenchEnv();
const log: string[] = [];
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const q = args[0] as string | { text: string };
  log.push(`  pg    ${(typeof q === 'string' ? q : q.text).replace(/\s+/g, ' ').slice(0, 160)}`);
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, cmd: { name: string; args: unknown[] }, ...rest: unknown[]) {
  log.push(`  redis ${cmd.name} ${String(cmd.args[0] ?? '').slice(0, 60)}`);
  return (send as (...a: unknown[]) => unknown).call(this, cmd, ...rest);
} as typeof Redis.prototype.sendCommand;

try {
  const target = await env.open(1);
  const app = await buildApp(env.config!, { logger: false });
  await app.ready();
  const auth = { authorization: `Bearer ${target.key}` };
  const etag = (await app.inject({ method: 'GET', url: `/v1/jobs/${target.jobId}`, headers: auth })).headers.etag as string;
  const requests = [
    { name: 'GET /v1/jobs/:id', method: 'GET' as const, url: `/v1/jobs/${target.jobId}` },
    { name: 'GET /v1/jobs/:id + If-None-Match', method: 'GET' as const, url: `/v1/jobs/${target.jobId}`, headers: { 'if-none-match': etag } },
    { name: 'POST /v1/jobs', method: 'POST' as const, url: '/v1/jobs', payload: submitBody(target.datasetId) },
    { name: 'GET /v1/jobs?limit=20', method: 'GET' as const, url: '/v1/jobs?limit=20' },
  ];
  for (const r of requests) {
    // The second of each: caches and prepared plans warm, as under load.
    for (let i = 0; i < 2; i++) {
      log.length = 0;
      const res = await app.inject({ method: r.method, url: r.url, headers: { ...auth, ...r.headers }, payload: r.payload });
      await new Promise((resolve) => setTimeout(resolve, 50)); // fire-and-forget writes land too
      if (i === 1) console.log(`${r.name} → ${res.statusCode}, ${log.filter((l) => l.includes('pg ')).length} SQL statements, ${log.filter((l) => l.includes('redis ')).length} Redis commands\n${log.join('\n')}\n`);
    }
  }
  await app.close();
} finally {
  await env.close();
}
