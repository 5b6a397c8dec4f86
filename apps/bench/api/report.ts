// The bench's table: medians of the repeats with their spread, and each
// request's throughput as a ratio of the bare Fastify baseline's.
import type { RunResult } from './load.ts';
import type { Scenario } from './options.ts';

const LABELS: Record<Scenario, string> = {
  hello: 'bare Fastify `GET /` (baseline)',
  get: '`GET /v1/jobs/:id`',
  'get-304': '`GET /v1/jobs/:id` + matching `If-None-Match` (304)',
  post: '`POST /v1/jobs` (small pretrain spec)',
  list: '`GET /v1/jobs?limit=20`',
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function table(runs: RunResult[], scenarios: Scenario[]): string {
  const by = (s: Scenario) => runs.filter((r) => r.scenario === s);
  const hello = by('hello').length ? median(by('hello').map((r) => r.reqPerSec)) : undefined;
  const lines = [
    '| request | req/s median (min–max) | p99 ms median (min–max) | vs bare Fastify | responses |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of scenarios) {
    const rs = by(s);
    if (!rs.length) continue;
    const rps = rs.map((r) => r.reqPerSec);
    const p99 = rs.map((r) => r.p99);
    const statuses: Record<string, number> = {};
    for (const r of rs) for (const [c, n] of Object.entries(r.statuses)) statuses[c] = (statuses[c] ?? 0) + n;
    const errs = rs.reduce((a, r) => a + r.errors + r.timeouts, 0);
    const codes = Object.entries(statuses).map(([c, n]) => `${c}×${n}`).join(' ') + (errs ? ` errors×${errs}` : '');
    const ratio = hello && s !== 'hello' ? `${(median(rps) / hello * 100).toFixed(1)}%` : '';
    lines.push(`| ${LABELS[s]} | ${fmt(median(rps))} (${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))}) | ${median(p99)} (${Math.min(...p99)}–${Math.max(...p99)}) | ${ratio} | ${codes} |`);
  }
  return lines.join('\n');
}
