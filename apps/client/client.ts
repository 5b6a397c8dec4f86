// A typed client for the fine-tuning API, on global fetch (Node 20+).
// Paths and bodies follow apps/api/src/routes/*; types come from their schemas.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from './errors.ts';
import { parseSse } from './sse.ts';
import type {
  CreateDatasetInput, CreateJobInput, Dataset, Evaluation, Job, JobCheckpoints, JobEvent, JobEventPage, JobEventParams,
  JobListParams, JobMetrics, Model, ModelFile, Page, PageParams, RegisterModelInput, SignedUrl, WebhookDeliveries, CreateUploadInput, Upload,
} from './types.ts';

export interface ClientOptions {
  /** Where the API listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** A tenant's API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /**
   * Retries of a request that is safe to repeat (a GET, or a POST with an Idempotency-Key) after a
   * network error, 429, 502, 503 or 504, honouring Retry-After.
   * @defaultValue 2
   */
  maxRetries?: number;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PostOptions extends CallOptions {
  /** Makes the POST safe to retry: the service answers a repeat with the first response. */
  idempotencyKey?: string;
}

export interface StreamOptions extends CallOptions {
  /** Start after this event id (the stream replays the log from its beginning otherwise). */
  after?: string;
  /**
   * Reconnections in a row (with Last-Event-ID) after the stream drops before its `end` event.
   * @defaultValue 5
   */
  maxReconnects?: number;
}

interface RequestInit_ extends PostOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

export class FinetuneClient {
  readonly baseUrl: string;
  readonly #apiKey?: string;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#maxRetries = opts.maxRetries ?? 2;
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** An absolute URL for an API path (or a path the API returned, such as a signed download URL). */
  url(p: string, query?: Record<string, string | number | undefined>): string {
    const u = new URL(this.baseUrl + (p.startsWith('/') ? p : `/${p}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** Sends one request, retrying where that is safe; returns the response of a 2xx, throws ApiError otherwise. */
  async raw(method: string, p: string, init: RequestInit_ = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.idempotencyKey) headers['idempotency-key'] = init.idempotencyKey;
    const retryable = method === 'GET' || init.idempotencyKey !== undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(this.url(p, init.query), {
          method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: init.signal,
        });
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (retryable && attempt < this.#maxRetries) {
          await sleep(backoff(attempt), init.signal);
          continue;
        }
        const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
        throw new ApiError(0, 'connection_failed', `Cannot reach ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      }
      if (res.ok) return res;
      if (retryable && RETRY_STATUSES.has(res.status) && attempt < this.#maxRetries) {
        const after = Number(res.headers.get('retry-after'));
        await res.body?.cancel().catch(() => undefined);
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : backoff(attempt), init.signal);
        continue;
      }
      throw await ApiError.fromResponse(res);
    }
  }

  async #json<T>(method: string, p: string, init?: RequestInit_): Promise<T> {
    const res = await this.raw(method, p, init);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** Every item of a paged list, page by page. */
  async *#all<T>(list: (after?: string) => Promise<Page<T>>): AsyncGenerator<T> {
    let after: string | undefined;
    do {
      const page = await list(after);
      yield* page.data;
      after = page.hasMore && page.nextCursor ? page.nextCursor : undefined;
    } while (after);
  }

  readonly datasets = {
    /** POST /v1/datasets: built-in MNIST, or CSV/NDJSON in S3. */
    create: (body: CreateDatasetInput, opts?: PostOptions) => this.#json<Dataset>('POST', '/v1/datasets', { body, ...opts }),
    list: (q: PageParams = {}, opts?: CallOptions) => this.#json<Page<Dataset>>('GET', '/v1/datasets', { query: q, ...opts }),
    all: (q: Omit<PageParams, 'after'> = {}, opts?: CallOptions) => this.#all((after) => this.datasets.list({ ...q, after }, opts)),
    get: (id: string, opts?: CallOptions) => this.#json<Dataset>('GET', `/v1/datasets/${enc(id)}`, opts),
  };

  readonly models = {
    /** POST /v1/models: a TensorFlow.js LayersModel at s3://bucket/prefix/model.json. */
    register: (body: RegisterModelInput, opts?: PostOptions) => this.#json<Model>('POST', '/v1/models', { body, ...opts }),
    list: (q: PageParams = {}, opts?: CallOptions) => this.#json<Page<Model>>('GET', '/v1/models', { query: q, ...opts }),
    all: (q: Omit<PageParams, 'after'> = {}, opts?: CallOptions) => this.#all((after) => this.models.list({ ...q, after }, opts)),
    get: (id: string, opts?: CallOptions) => this.#json<Model>('GET', `/v1/models/${enc(id)}`, opts),
    delete: (id: string, opts?: CallOptions) => this.#json<void>('DELETE', `/v1/models/${enc(id)}`, opts),
    /** A short-lived URL that loads the model without a key; `href` is absolute. */
    downloadUrl: async (id: string, opts?: PostOptions): Promise<SignedUrl & { href: string }> => {
      const signed = await this.#json<SignedUrl>('POST', `/v1/models/${enc(id)}/download-url`, opts);
      return { ...signed, href: this.url(signed.url) };
    },
    /** One of the model's files, as bytes. */
    file: async (id: string, file: ModelFile, opts?: CallOptions): Promise<Uint8Array> => {
      const res = await this.raw('GET', `/v1/models/${enc(id)}/${file}`, { ...opts, headers: { accept: '*/*' } });
      return new Uint8Array(await res.arrayBuffer());
    },
    /** Writes model.json and weights.bin into `dir` (tf.loadLayersModel('file://dir/model.json') loads them). */
    download: async (id: string, dir: string, opts?: CallOptions): Promise<{ modelJson: string; weights: string; bytes: number }> => {
      const [json, weights] = await Promise.all([this.models.file(id, 'model.json', opts), this.models.file(id, 'weights.bin', opts)]);
      await mkdir(dir, { recursive: true });
      const out = { modelJson: path.join(dir, 'model.json'), weights: path.join(dir, 'weights.bin') };
      await writeFile(out.modelJson, json);
      await writeFile(out.weights, weights);
      return { ...out, bytes: json.byteLength + weights.byteLength };
    },
  };

  readonly uploads = {
    /** POST /v1/uploads: a presigned PUT URL for one file in the caller's upload area, and its s3:// URI. */
    create: (body: CreateUploadInput, opts?: PostOptions) => this.#json<Upload>('POST', '/v1/uploads', { body, ...opts }),
    /** Puts `bytes` in the caller's upload area as `name` (straight to S3); resolves with the s3:// URI to register. */
    put: async (name: string, bytes: Uint8Array, opts?: PostOptions): Promise<string> => {
      const upload = await this.uploads.create({ name }, opts);
      const res = await this.#fetch(upload.url, { method: upload.method, body: bytes, signal: opts?.signal }).catch((err: Error) => {
        throw new ApiError(0, 'connection_failed', `Could not reach S3 at ${new URL(upload.url).origin}: ${err.message}`);
      });
      if (!res.ok) throw new ApiError(res.status, `s3_${res.status}`, `S3 refused the upload: ${(await res.text()).slice(0, 200)}`);
      return upload.uri;
    },
  };

  readonly jobs = {
    /** POST /v1/jobs: the job is queued (202). */
    create: (body: CreateJobInput, opts?: PostOptions) => this.#json<Job>('POST', '/v1/jobs', { body, ...opts }),
    list: (q: JobListParams = {}, opts?: CallOptions) => this.#json<Page<Job>>('GET', '/v1/jobs', { query: q, ...opts }),
    all: (q: Omit<JobListParams, 'after'> = {}, opts?: CallOptions) => this.#all((after) => this.jobs.list({ ...q, after }, opts)),
    get: (id: string, opts?: CallOptions) => this.#json<Job>('GET', `/v1/jobs/${enc(id)}`, opts),
    cancel: (id: string, opts?: PostOptions) => this.#json<Job>('POST', `/v1/jobs/${enc(id)}/cancel`, opts),
    pause: (id: string, opts?: PostOptions) => this.#json<Job>('POST', `/v1/jobs/${enc(id)}/pause`, opts),
    resume: (id: string, opts?: PostOptions) => this.#json<Job>('POST', `/v1/jobs/${enc(id)}/resume`, opts),
    metrics: (id: string, opts?: CallOptions) => this.#json<JobMetrics>('GET', `/v1/jobs/${enc(id)}/metrics`, opts),
    checkpoints: (id: string, opts?: CallOptions) => this.#json<JobCheckpoints>('GET', `/v1/jobs/${enc(id)}/checkpoints`, opts),
    webhookDeliveries: (id: string, opts?: CallOptions) => this.#json<WebhookDeliveries>('GET', `/v1/jobs/${enc(id)}/webhook-deliveries`, opts),
    /** The evaluation of a finished job (null until it has one). */
    evaluation: async (id: string, opts?: CallOptions): Promise<Evaluation | null> => (await this.jobs.get(id, opts)).evaluation,
    /** One page of the event log, oldest first. */
    events: (id: string, q: JobEventParams = {}, opts?: CallOptions) => this.#json<JobEventPage>('GET', `/v1/jobs/${enc(id)}/events`, { query: q, ...opts }),
    /** The event log live over SSE, from the start (or `after`); ends when the job has finished and every event is in. */
    stream: (id: string, opts: StreamOptions = {}) => this.#stream(id, opts),
  };

  async *#stream(id: string, opts: StreamOptions): AsyncGenerator<JobEvent, { status: string | null }> {
    let cursor = opts.after;
    let retryMs = 1000;
    let failures = 0;
    const maxReconnects = opts.maxReconnects ?? 5;
    for (;;) {
      let lost: ApiError;
      try {
        const res = await this.raw('GET', `/v1/jobs/${enc(id)}/events`, {
          signal: opts.signal,
          headers: { accept: 'text/event-stream', ...(cursor ? { 'last-event-id': cursor } : {}) },
        });
        if (!res.body) throw new ApiError(0, 'stream_failed', 'The event stream had no body');
        for await (const msg of parseSse(res.body)) {
          if (msg.retry !== undefined) retryMs = msg.retry;
          if (msg.event === 'end') return JSON.parse(msg.data) as { status: string | null };
          if (msg.event === 'error') throw new ApiError(0, 'stream_failed', (JSON.parse(msg.data) as { message?: string }).message ?? 'The event stream failed');
          if (!msg.data) continue;
          const event = JSON.parse(msg.data) as JobEvent;
          cursor = event.id;
          failures = 0;
          yield event;
        }
        lost = new ApiError(0, 'stream_interrupted', 'The event stream closed before the job finished');
      } catch (err) {
        // 4xx (no such job, bad key) and aborts are final; a dropped connection is not.
        if (opts.signal?.aborted || (err instanceof ApiError && err.status >= 400 && err.status < 500)) throw err;
        lost = err instanceof ApiError ? err : new ApiError(0, 'stream_interrupted', (err as Error).message);
      }
      if (++failures > maxReconnects) throw lost;
      await sleep(retryMs, opts.signal);
    }
  }

  readonly health = {
    live: () => this.#json<{ status: 'ok' }>('GET', '/healthz'),
    ready: async () => {
      // 503 is an answer here (some dependency is down), not a failure of the call.
      const res = await this.#fetch(this.url('/readyz'), { headers: { accept: 'application/json' } });
      return (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean; error?: string }>; workers: Array<{ id: string; backend: string }> };
    },
  };
}

const enc = encodeURIComponent;
const backoff = (attempt: number) => 500 * 2 ** attempt;
