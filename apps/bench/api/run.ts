// `npm run bench:api`: the API's hot requests under load (issue 19). The API
// runs as `npm run start:api` does, on its own database, queue and keys; a bare
// Fastify hello-world runs beside it; autocannon drives both, one scenario at a
// time, the scenarios interleaved over the repeats. Prints a table of medians
// with their spread, then checks that every 202 has its job row and queue entry.
import { BenchEnv } from './environment.ts';
import { measure, plan, type RunResult } from './load.ts';
import { readOptions } from './options.ts';
import { table } from './report.ts';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';

/** The machine's load beside every number: on shared cores the absolute figures move with it. */
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

const opts = readOptions();
const env = new BenchEnv();
let failed = false;
try {
  const target = await env.open(opts.instances, opts.cpuProf);
  const first = await fetch(`${target.baseUrls[0]}/v1/jobs/${target.jobId}`, { headers: { authorization: `Bearer ${target.key}` } });
  const etag = first.headers.get('etag') ?? undefined;
  const scenarios = opts.scenarios.filter((s) => s !== 'get-304' || etag);
  if (scenarios.length < opts.scenarios.length) console.log('GET /v1/jobs/:id sends no ETag: the 304 scenario is left out');
  const urls = (s: string) => (s === 'hello' ? [env.helloUrl] : target.baseUrls);
  console.log(`load average at the start: ${load()}`);
  console.log(`${opts.instances} API instance(s), ${opts.connections} connections, ${opts.seconds} s per run, ${opts.repeats} interleaved repeats: ${scenarios.join(', ')}`);
  // Warm-up, not counted: JIT, pools, caches.
  for (const s of scenarios) await measure(s, plan(s, target, etag), urls(s), opts.connections, 2);
  const runs: RunResult[] = [];
  for (let r = 0; r < opts.repeats; r++) {
    for (const s of scenarios) {
      const res = await measure(s, plan(s, target, etag), urls(s), opts.connections, opts.seconds);
      runs.push(res);
      console.log(`  run ${r + 1} ${s}: ${Math.round(res.reqPerSec)} req/s, p99 ${res.p99} ms, ${JSON.stringify(res.statuses)}${res.errors + res.timeouts ? `, ${res.errors} errors, ${res.timeouts} timeouts` : ''}`);
    }
  }
  console.log(`\n${table(runs, scenarios)}\n\nload average at the end: ${load()}`);

  const serverErrors = runs.reduce((n, r) => n + Object.entries(r.statuses).filter(([c]) => c.startsWith('5')).reduce((a, [, k]) => a + k, 0), 0);
  const accepted = runs.flatMap((r) => r.accepted);
  const statuses202 = runs.reduce((n, r) => n + (r.statuses['202'] ?? 0), 0);
  const stored = await env.stored();
  const noRow = accepted.filter((id) => !stored.rows.has(id));
  const notQueued = accepted.filter((id) => !stored.queued.has(id));
  console.log(`5xx: ${serverErrors}; 202s: ${statuses202} (ids read: ${accepted.length}); without a job row: ${noRow.length}; without a queue entry: ${notQueued.length}`);
  failed = serverErrors > 0 || noRow.length > 0 || notQueued.length > 0 || accepted.length !== statuses202;
  if (opts.json) await writeFile(opts.json, JSON.stringify({ opts, runs: runs.map(({ accepted: _, ...r }) => r) }, null, 2));
} finally {
  await env.close();
}
if (failed) {
  console.log('FAILED: 5xx under load, or an accepted job without its row or queue entry');
  process.exitCode = 1;
}
