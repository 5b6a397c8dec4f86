// The client's `advice`: ask how to fine-tune a base on a dataset, and wait
// for the worker's measurements (docs/advice.md).
import { sleep, type CallOptions, type PostOptions, type Transport } from './transport.ts';
import type { Advice, CreateAdviceInput } from './types.ts';

const enc = encodeURIComponent;

export function adviceApi(t: Transport) {
  const api = {
    /** POST /v1/advice: an advice job is queued (202). */
    create: (body: CreateAdviceInput, opts?: PostOptions) => t.json<Advice>('POST', '/v1/advice', { body, ...opts }),
    get: (id: string, opts?: CallOptions) => t.json<Advice>('GET', `/v1/advice/${enc(id)}`, opts),
    /** Polls until the advice job has finished (succeeded, failed or cancelled). */
    async wait(id: string, opts: CallOptions & { intervalMs?: number } = {}): Promise<Advice> {
      for (;;) {
        const a = await api.get(id, opts);
        if (a.status === 'succeeded' || a.status === 'failed' || a.status === 'cancelled') return a;
        await sleep(opts.intervalMs ?? 1000, opts.signal);
      }
    },
  };
  return api;
}
