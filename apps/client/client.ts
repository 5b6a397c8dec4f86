// A typed client for the fine-tuning API, on global fetch: Node 20+, and the
// dashboard's browser through its build (apps/dashboard/client.js).
// Paths and bodies follow apps/api/src/routes/*; types come from their schemas.
import { ApiError } from './errors.ts';
import { datasetsApi } from './datasets.ts';
import { adviceApi } from './advice.ts';
import { sweepsApi } from './sweeps.ts';
import { jobsApi } from './jobs.ts';
import { Transport, type CallOptions, type PostOptions, type Query, type RequestOptions } from './transport.ts';
import type {
  ApiKey, CreateApiKeyInput, CreatedApiKey, CreateTenantInput, CreateUploadInput, Model, ModelFile, Page,
  PageParams, Readiness, RegisterModelInput, SignedUrl, Tenant, Upload,
} from './types.ts';

export interface ClientOptions {
  /** Where the API listens, e.g. http://127.0.0.1:3000 (in the dashboard, its own origin). */
  baseUrl: string;
  /** A tenant's API key (the operator's ADMIN_API_KEY for `admin`), sent as `Authorization: Bearer <key>`. */
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

const enc = encodeURIComponent;

export class FinetuneClient {
  readonly #t: Transport;
  /** Jobs: submit, read, control, and follow (stream, wait). */
  readonly jobs: ReturnType<typeof jobsApi>;
  /** Datasets: register, read, and follow or cancel an image registration. */
  readonly datasets: ReturnType<typeof datasetsApi>;
  /** Advice: how much to fine-tune, measured (POST /v1/advice). */
  readonly advice: ReturnType<typeof adviceApi>;
  /** Sweeps: grid or random search of jobs, with a leaderboard (POST /v1/sweeps). */
  readonly sweeps: ReturnType<typeof sweepsApi>;

  constructor(opts: ClientOptions) {
    this.#t = new Transport({ ...opts, maxRetries: opts.maxRetries ?? 2 });
    this.jobs = jobsApi(this.#t);
    this.datasets = datasetsApi(this.#t);
    this.advice = adviceApi(this.#t);
    this.sweeps = sweepsApi(this.#t);
  }

  get baseUrl(): string {
    return this.#t.baseUrl;
  }

  /** An absolute URL for an API path (or a path the API returned, such as a signed download URL). */
  url(p: string, query?: Query): string {
    return this.#t.url(p, query);
  }

  /** Sends one request, retrying where that is safe; returns the response of a 2xx, throws ApiError otherwise. */
  raw(method: string, p: string, init?: RequestOptions): Promise<Response> {
    return this.#t.raw(method, p, init);
  }

  readonly models = {
    /** POST /v1/models: a TensorFlow.js LayersModel at s3://bucket/prefix/model.json. */
    register: (body: RegisterModelInput, opts?: PostOptions) => this.#t.json<Model>('POST', '/v1/models', { body, ...opts }),
    list: (q: PageParams = {}, opts?: CallOptions) => this.#t.json<Page<Model>>('GET', '/v1/models', { query: q, ...opts }),
    all: (q: Omit<PageParams, 'after'> = {}, opts?: CallOptions) => this.#t.all((p: PageParams) => this.models.list(p, opts), q),
    get: (id: string, opts?: CallOptions) => this.#t.json<Model>('GET', `/v1/models/${enc(id)}`, opts),
    delete: (id: string, opts?: CallOptions) => this.#t.json<void>('DELETE', `/v1/models/${enc(id)}`, opts),
    /** A short-lived URL that loads the model without a key; `url` is the API's path, `href` the absolute URL. */
    downloadUrl: async (id: string, opts?: PostOptions): Promise<SignedUrl & { href: string }> => {
      const signed = await this.#t.json<SignedUrl>('POST', `/v1/models/${enc(id)}/download-url`, opts);
      return { ...signed, href: this.url(signed.url) };
    },
    /** One of the model's files, as bytes (in Node, downloadModel writes both into a folder); 'model.keras' is the model as a Keras 3 file. */
    file: (id: string, file: ModelFile, opts?: CallOptions) => this.#t.bytes(`/v1/models/${enc(id)}/${file.split('/').map(enc).join('/')}`, opts),
  };

  readonly uploads = {
    /** POST /v1/uploads: a presigned PUT URL for one file in the caller's upload area, and its s3:// URI. */
    create: (body: CreateUploadInput, opts?: PostOptions) => this.#t.json<Upload>('POST', '/v1/uploads', { body, ...opts }),
    /** Puts `bytes` in the caller's upload area as `name` (straight to S3); resolves with the s3:// URI to register. */
    put: async (name: string, bytes: Uint8Array, opts?: PostOptions): Promise<string> => {
      const upload = await this.uploads.create({ name }, opts);
      const res = await this.#t.fetch(upload.url, { method: upload.method, body: bytes, signal: opts?.signal }).catch((err: Error) => {
        throw new ApiError(0, 'connection_failed', `Could not reach S3 at ${new URL(upload.url).origin}: ${err.message}`);
      });
      if (!res.ok) throw new ApiError(res.status, `s3_${res.status}`, `S3 refused the upload: ${(await res.text()).slice(0, 200)}`);
      return upload.uri;
    },
  };

  /** The operator's routes: a client made with ADMIN_API_KEY as its key. */
  readonly admin = {
    tenants: {
      create: (body: CreateTenantInput, opts?: CallOptions) => this.#t.json<Tenant>('POST', '/v1/admin/tenants', { body, ...opts }),
      list: (opts?: CallOptions) => this.#t.json<{ data: Tenant[] }>('GET', '/v1/admin/tenants', opts),
    },
    keys: {
      /** A new key for the tenant; `key` is in this response only. */
      create: (tenantId: string, body: CreateApiKeyInput = {}, opts?: CallOptions) =>
        this.#t.json<CreatedApiKey>('POST', `/v1/admin/tenants/${enc(tenantId)}/keys`, { body, ...opts }),
      list: (tenantId: string, opts?: CallOptions) => this.#t.json<{ data: ApiKey[] }>('GET', `/v1/admin/tenants/${enc(tenantId)}/keys`, opts),
      revoke: (keyId: string, opts?: CallOptions) => this.#t.json<ApiKey>('POST', `/v1/admin/keys/${enc(keyId)}/revoke`, opts),
    },
  };

  readonly health = {
    live: () => this.#t.json<{ status: 'ok' }>('GET', '/healthz'),
    ready: async (): Promise<Readiness> => {
      // 503 is an answer here (some dependency is down), not a failure of the call.
      const res = await this.#t.fetch(this.url('/readyz'), { headers: { accept: 'application/json' } });
      return (await res.json()) as Readiness;
    },
  };
}
