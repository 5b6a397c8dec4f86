// The client's `sweeps`: start a hyperparameter sweep, read its leaderboard,
// wait for it, cancel it (docs/sweeps.md). Its trials are jobs: jobs.list({ sweepId }).
import { sleep, type CallOptions, type PostOptions, type Transport } from './transport.ts';
import type { CreateSweepInput, Page, Sweep, SweepListParams } from './types.ts';

const enc = encodeURIComponent;

export function sweepsApi(t: Transport) {
  const api = {
    /** POST /v1/sweeps: every trial planned and checked; the first ones queued (202). */
    create: (body: CreateSweepInput, opts?: PostOptions) => t.json<Sweep>('POST', '/v1/sweeps', { body, ...opts }),
    get: (id: string, opts?: CallOptions) => t.json<Sweep>('GET', `/v1/sweeps/${enc(id)}`, opts),
    list: (q: SweepListParams = {}, opts?: CallOptions) => t.json<Page<Sweep>>('GET', '/v1/sweeps', { query: q, ...opts }),
    cancel: (id: string, opts?: PostOptions) => t.json<Sweep>('POST', `/v1/sweeps/${enc(id)}/cancel`, opts),
    /** Polls until the sweep has ended; `onUpdate` sees every state read on the way. */
    async wait(id: string, opts: CallOptions & { intervalMs?: number; onUpdate?: (s: Sweep) => void } = {}): Promise<Sweep> {
      for (;;) {
        const s = await api.get(id, opts);
        opts.onUpdate?.(s);
        if (s.status !== 'running') return s;
        await sleep(opts.intervalMs ?? 1000, opts.signal);
      }
    },
  };
  return api;
}
