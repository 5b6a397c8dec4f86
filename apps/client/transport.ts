// The client's HTTP layer: one request with the key, retries where they are
// safe, JSON bodies, and cursor pages. Only global fetch, URL and timers, so the
// same code runs in Node and, bundled, in the dashboard (apps/dashboard/client.js).
import { ApiError } from './errors.ts';
import type { Page, PageParams } from './types.ts';

export type Query = Record<string, string | number | undefined>;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PostOptions extends CallOptions {
  /** Makes the POST safe to retry: the service answers a repeat with the first response. */
  idempotencyKey?: string;
}

export interface RequestOptions extends PostOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey?: string;
  maxRetries: number;
  fetch?: typeof fetch;
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const backoff = (attempt: number) => 500 * 2 ** attempt;

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

export class Transport {
  readonly baseUrl: string;
  readonly #apiKey?: string;
  readonly #maxRetries: number;
  /** Called as a plain function: a browser's fetch refuses to run with anything but the window as `this`. */
  readonly fetch: typeof fetch;

  constructor(opts: TransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#maxRetries = opts.maxRetries;
    const given = opts.fetch;
    this.fetch = given ? (input, init) => given(input, init) : (input, init) => globalThis.fetch(input, init);
  }

  url(p: string, query?: Query): string {
    const u = new URL(this.baseUrl + (p.startsWith('/') ? p : `/${p}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** Sends one request, retrying where that is safe; returns the response of a 2xx, throws ApiError otherwise. */
  async raw(method: string, p: string, init: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.idempotencyKey) headers['idempotency-key'] = init.idempotencyKey;
    const retryable = method === 'GET' || init.idempotencyKey !== undefined;
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    for (let attempt = 0; ; attempt++) {
      const canRetry = retryable && attempt < this.#maxRetries;
      let res: Response;
      try {
        res = await this.fetch(this.url(p, init.query), { method, headers, body, signal: init.signal });
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (!canRetry) throw this.#unreachable(err as Error);
        await sleep(backoff(attempt), init.signal);
        continue;
      }
      if (res.ok) return res;
      if (!canRetry || !RETRY_STATUSES.has(res.status)) throw await ApiError.fromResponse(res);
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel().catch(() => undefined);
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : backoff(attempt), init.signal);
    }
  }

  #unreachable(err: Error): ApiError {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return new ApiError(0, 'connection_failed', `Cannot reach ${this.baseUrl}: ${cause?.code ?? cause?.message ?? err.message}`);
  }

  async json<T>(method: string, p: string, init?: RequestOptions): Promise<T> {
    const res = await this.raw(method, p, init);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** A response body as bytes (a model or checkpoint file). */
  async bytes(p: string, opts?: CallOptions): Promise<Uint8Array> {
    const res = await this.raw('GET', p, { ...opts, headers: { accept: '*/*' } });
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * Every item of a paged list, page by page. A `limit` over the operator's
   * MAX_PAGE_SIZE is lowered to what the service says it allows, and asked again.
   */
  async *all<T, Q extends PageParams>(list: (q: Q) => Promise<Page<T>>, q: Q): AsyncGenerator<T> {
    let { after, limit } = q;
    for (;;) {
      let page: Page<T>;
      try {
        page = await list({ ...q, after, limit });
      } catch (err) {
        const allowed = allowedLimit(err, limit);
        if (allowed === undefined) throw err;
        limit = allowed;
        continue;
      }
      yield* page.data;
      if (!page.hasMore || !page.nextCursor) return;
      after = page.nextCursor;
    }
  }
}

/** The page size a `page_size_exceeded` refusal allows, when it is below what was asked. */
function allowedLimit(err: unknown, asked: number | undefined): number | undefined {
  if (!(err instanceof ApiError) || err.code !== 'page_size_exceeded' || asked === undefined) return undefined;
  const allowed = (err.details as { limit?: unknown } | undefined)?.limit;
  return typeof allowed === 'number' && allowed >= 1 && allowed < asked ? allowed : undefined;
}
