// The client's `datasets`: register, read, and follow an image registration
// (202 `validating`) to its end over its event stream (SSE), or cancel it.
import { ApiError } from './errors.ts';
import { parseSse } from './sse.ts';
import { sleep, type CallOptions, type PostOptions, type Transport } from './transport.ts';
import type { CreateDatasetInput, Dataset, Page, PageParams } from './types.ts';

export interface DatasetWaitOptions extends CallOptions {
  /** Sees the dataset each time it changes while it validates (progress.objectsDone of objectsTotal, …). */
  onProgress?: (dataset: Dataset) => void;
  /**
   * Reconnections in a row after the stream drops before its `end` event.
   * @defaultValue 5
   */
  maxReconnects?: number;
}

const enc = encodeURIComponent;

export function datasetsApi(t: Transport) {
  const path = (id: string, rest = '') => `/v1/datasets/${enc(id)}${rest}`;
  const datasets = {
    /** POST /v1/datasets: MNIST or CSV/NDJSON are registered at once (201); images answer 202 `validating` (follow with `wait`). */
    create: (body: CreateDatasetInput, opts?: PostOptions) => t.json<Dataset>('POST', '/v1/datasets', { body, ...opts }),
    list: (q: PageParams = {}, opts?: CallOptions) => t.json<Page<Dataset>>('GET', '/v1/datasets', { query: q, ...opts }),
    all: (q: Omit<PageParams, 'after'> = {}, opts?: CallOptions) => t.all((p: PageParams) => datasets.list(p, opts), q),
    get: (id: string, opts?: CallOptions) => t.json<Dataset>('GET', path(id), opts),
    /** Stops a validating registration; every object it wrote is deleted before this resolves. */
    cancel: (id: string, opts?: PostOptions) => t.json<Dataset>('POST', path(id, '/cancel'), opts),
    /** The dataset each time it changes (SSE), until it is ready, failed or cancelled. */
    stream: (id: string, opts: DatasetWaitOptions = {}) => stream(t, path(id, '/events'), opts),
    /**
     * Follows the registration to its end. Resolves with the ready dataset; throws an ApiError with
     * the stored error's status and code (image_invalid naming the object, …) if it failed or was cancelled.
     */
    wait: async (id: string, opts: DatasetWaitOptions = {}): Promise<Dataset> => {
      for await (const d of datasets.stream(id, opts)) opts.onProgress?.(d);
      const d = await datasets.get(id, opts);
      if (d.status === 'ready') return d;
      const e = d.error ?? { status: 500, code: 'internal_error', message: `The dataset is ${d.status}` };
      throw new ApiError(e.status, e.code, e.message, e.details);
    },
  };
  return datasets;
}

async function* stream(t: Transport, url: string, opts: DatasetWaitOptions): AsyncGenerator<Dataset> {
  const maxReconnects = opts.maxReconnects ?? 5;
  let retryMs = 1000;
  for (let failures = 0; ;) {
    let lost: ApiError;
    try {
      const res = await t.raw('GET', url, { signal: opts.signal, headers: { accept: 'text/event-stream' } });
      if (!res.body) throw new ApiError(0, 'stream_failed', 'The event stream had no body');
      for await (const msg of parseSse(res.body)) {
        if (msg.retry !== undefined) retryMs = msg.retry;
        if (msg.event === 'end') return;
        if (msg.event === 'error') throw new ApiError(0, 'stream_failed', (JSON.parse(msg.data) as { message?: string }).message ?? 'The event stream failed');
        if (!msg.data) continue;
        failures = 0;
        yield JSON.parse(msg.data) as Dataset;
      }
      lost = new ApiError(0, 'stream_interrupted', 'The event stream closed before the registration ended');
    } catch (err) {
      // 4xx (no such dataset, bad key) and aborts are final; a dropped connection is not.
      if (opts.signal?.aborted || (err instanceof ApiError && err.status >= 400 && err.status < 500)) throw err;
      lost = err instanceof ApiError ? err : new ApiError(0, 'stream_interrupted', (err as Error).message);
    }
    if (++failures > maxReconnects) throw lost;
    await sleep(retryMs, opts.signal);
  }
}
