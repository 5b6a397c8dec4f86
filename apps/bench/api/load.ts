// One measured run: autocannon, in this process, against one scenario; what
// came back (req/s, p99, status classes) and, for submits, the job ids.
import autocannon from 'autocannon';
import type { Scenario } from './options.ts';
import { submitBody, type Target } from './environment.ts';

export interface RunResult {
  scenario: Scenario;
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  /** By status code. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** POST: ids from the Location header of every 202. */
  accepted: string[];
}

interface Plan {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers: Record<string, string>;
  /** What a healthy answer is. */
  expect: number;
}

export function plan(s: Scenario, t: Target, etag?: string): Plan {
  const headers = { authorization: `Bearer ${t.key}` };
  switch (s) {
    case 'hello': return { method: 'GET', path: '/', headers: {}, expect: 200 };
    case 'get': return { method: 'GET', path: `/v1/jobs/${t.jobId}`, headers, expect: 200 };
    case 'get-304': return { method: 'GET', path: `/v1/jobs/${t.jobId}`, headers: { ...headers, 'if-none-match': etag ?? '"none"' }, expect: 304 };
    case 'post': return { method: 'POST', path: '/v1/jobs', body: JSON.stringify(submitBody(t.datasetId)), headers: { ...headers, 'content-type': 'application/json' }, expect: 202 };
    case 'list': return { method: 'GET', path: '/v1/jobs?limit=20', headers, expect: 200 };
  }
}

/** Runs `p` for `seconds` over `connections`, spread round robin over `urls` (one autocannon per instance). */
export async function measure(scenario: Scenario, p: Plan, urls: string[], connections: number, seconds: number): Promise<RunResult> {
  const accepted: string[] = [];
  const runs = await Promise.all(urls.map((url, i) => autocannon({
    url,
    connections: Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0),
    duration: seconds,
    requests: [{
      method: p.method,
      path: p.path,
      body: p.body,
      headers: p.headers,
      ...(p.method === 'POST' ? { onResponse: (status: number, _body: string, _ctx: object, headers?: Record<string, string | string[] | undefined>) => {
        const location = headers?.location;
        if (status === 202 && typeof location === 'string') accepted.push(location.split('/').pop()!);
      } } : {}),
    }],
  })));
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = (statuses[code] ?? 0) + (stat?.count ?? 0);
  // The slowest instance's p99 stands for the whole; throughput adds up.
  return {
    scenario,
    reqPerSec: runs.reduce((s, r) => s + r.requests.average, 0),
    p50: Math.max(...runs.map((r) => r.latency.p50)),
    p99: Math.max(...runs.map((r) => r.latency.p99)),
    total: runs.reduce((s, r) => s + r.requests.total, 0),
    statuses,
    errors: runs.reduce((s, r) => s + r.errors, 0),
    timeouts: runs.reduce((s, r) => s + r.timeouts, 0),
    accepted,
  };
}
