// The one place that reads process.env. Everything else receives a typed,
// frozen Config, so tests can build one by hand with loadConfig({...}).
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LOG_FORMATS, pinoPrettyInstalled, wantsPrettyLogs, type LogFormatChoice } from './log-format.ts';

export type TfBackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface Config {
  /** HTTP listen address. @defaultValue 127.0.0.1 */
  host: string;
  /** @defaultValue 3000 */
  port: number;
  /** pino level. @defaultValue info */
  logLevel: string;
  /**
   * Human-readable logs (pino-pretty) instead of JSON lines: LOG_FORMAT, else LOG_PRETTY, else
   * on when stdout is a terminal and NODE_ENV isn't production; off when pino-pretty isn't installed.
   */
  logPretty: boolean;
  /** GET /metrics without a key (METRICS_PUBLIC); otherwise it needs the admin key. @defaultValue false */
  metricsPublic: boolean;
  /** Unset: `npm start` serves an embedded Postgres (see embeddedPg); the other entry points use the default. @defaultValue postgresql://postgres@127.0.0.1:5432/finetune */
  databaseUrl: string;
  /** Set only where DATABASE_URL is unset: the embedded Postgres (PGlite) that `npm start` runs on, on disk. */
  embeddedPg: { dir: string; port: number } | undefined;
  redisUrl: string;
  /** BullMQ queue name; tests use one per file. @defaultValue finetune-jobs */
  queueName: string;
  s3: {
    /** Unset means: start the embedded S3-protocol server (npm start only). */
    endpoint: string | undefined;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
    /**
     * Buckets that dataset and model registrations may read from (S3_SOURCE_BUCKETS);
     * always includes `bucket`. @defaultValue [bucket]
     */
    sourceBuckets: readonly string[];
    /**
     * The endpoint that presigned upload URLs name (S3_PUBLIC_ENDPOINT): where callers reach S3,
     * when that differs from where the service does (a compose network's `minio:9000`). @defaultValue endpoint
     */
    publicEndpoint: string | undefined;
    /** How long a presigned upload URL (POST /v1/uploads) works. @defaultValue 900 */
    uploadUrlTtlSeconds: number;
  };
  embeddedS3: { dir: string; port: number };
  /** Where `npm start` keeps the default tenant's API key. @defaultValue .data/api-key */
  quickstartKeyFile: string;
  worker: {
    /** Jobs one worker process runs at once. @defaultValue 1 */
    concurrency: number;
    /** BullMQ lock; renewed from the parent process while the sandbox trains. @defaultValue 60000 */
    lockDurationMs: number;
    /** Attempts for transient failures (bad input is never retried). @defaultValue 3 */
    jobAttempts: number;
    /** How often a running job looks for a cancel request, at most. @defaultValue 500 */
    cancelPollMs: number;
    /**
     * Threads one job trains on, data-parallel, on the single-threaded backends
     * (wasm, cpu); the GPU and native backends use their own. @defaultValue the CPU count, at most 8
     */
    trainThreads: number;
    /** A running job's lease in Postgres: renewed every third of it; past it, another worker may take the job. @defaultValue 30000 */
    leaseMs: number;
    /** How often a worker compares Postgres with the queue and re-enqueues what Redis lost. @defaultValue 15000 */
    reconcileIntervalMs: number;
    /** Training sets smaller than this stay on one thread: a batch's round trip would cost more than it saves. @defaultValue 2048 */
    parallelMinExamples: number;
  };
  tfBackend: TfBackendChoice;
  /** Where `npm run native:install` puts native TensorFlow and the tfjs addon (TF_NATIVE_DIR). @defaultValue <repo>/.native */
  tfNativeDir: string;
  /**
   * TF_FORCE_GPU_ALLOW_GROWTH for native TensorFlow: take GPU memory as needed rather than all
   * of it up front, so that several training processes can share a card. @defaultValue true
   */
  tfGpuAllowGrowth: boolean;
  /** Grace period for in-flight requests and jobs on SIGTERM. @defaultValue 30000 */
  shutdownTimeoutMs: number;
  /** Largest accepted JSON body. @defaultValue 1048576 */
  bodyLimitBytes: number;
  http: {
    /** A whole request, headers and body, must arrive within this; then 408 and the socket is closed. @defaultValue 30000 */
    requestTimeoutMs: number;
    /** The headers must arrive within this (at most requestTimeoutMs). @defaultValue 10000 */
    headersTimeoutMs: number;
  };
  /** How often an SSE event stream looks for new events. @defaultValue 500 */
  eventsPollMs: number;
  webhooks: {
    /** How often the API looks for webhooks to send. @defaultValue 1000 */
    pollMs: number;
    /** Attempts per delivery before it is marked failed. @defaultValue 8 */
    maxAttempts: number;
    /** First retry delay; doubles each attempt, at most an hour. @defaultValue 5000 */
    retryBaseMs: number;
    /** @defaultValue 10000 */
    timeoutMs: number;
    /**
     * OUTBOUND_ALLOWED_HOSTS, normalised: `host`, `host:port`, `*.domain[:port]`. Empty means any
     * public https host. Here, not top-level, because webhooks are the only requests the service
     * sends to hosts its callers name, and the dispatcher is handed this section alone.
     * @defaultValue []
     */
    allowedHosts: readonly string[];
  };
  auth: {
    /** The operator's key: creates tenants and their keys, and reaches the admin surfaces. Unset: no admin access. */
    adminApiKey?: string;
    /** Signs short-lived model download URLs; instances behind one load balancer must share it. Unset: a random one per process. */
    urlSigningSecret?: string;
    /** How long a signed model URL stays valid. @defaultValue 900 */
    signedUrlTtlSeconds: number;
  };
  limits: {
    /** Requests per tenant per minute (fixed window in Redis). @defaultValue 600 */
    requestsPerMinute: number;
    /** Jobs a tenant may have queued or paused at once. @defaultValue 50 */
    queuedJobsPerTenant: number;
    /** Jobs of one tenant that run at once, across all workers; the rest wait in the queue. @defaultValue 4 */
    runningJobsPerTenant: number;
    /** Rows a registered dataset may have. @defaultValue 1000000 */
    datasetRows: number;
    /** Features (values per example) a registered dataset may have. @defaultValue 10000 */
    datasetFeatures: number;
    /** Distinct labels a registered dataset may have (each read lists them with their counts). @defaultValue 1000 */
    datasetClasses: number;
    /** Weight bytes a model may declare in its manifest. @defaultValue 104857600 (100 MiB) */
    modelBytes: number;
    /** Layers a model may have, registered or built by a job. @defaultValue 256 */
    modelLayers: number;
    /** Epochs × training examples one job may ask for. @defaultValue 100000000 */
    epochExamples: number;
    /** Items one page of a list (datasets, models, jobs) may hold. @defaultValue 100 */
    pageSize: number;
    /** Events one page of a job's event log may hold. @defaultValue 500 */
    eventPageSize: number;
  };
  /** Browser origins allowed to call the API (CORS_ORIGINS). Empty: no CORS headers at all. @defaultValue [] */
  corsOrigins: readonly string[];
  /** How long an Idempotency-Key and its stored response are kept. @defaultValue 24 */
  idempotencyTtlHours: number;
  /** Largest model, in parameters, that a job may build or a registration may bring. @defaultValue 20000000 */
  maxModelParams: number;
  /** Largest dataset file registration reads from S3. @defaultValue 268435456 (256 MiB) */
  maxDatasetBytes: number;
  /**
   * The child process that builds an untrusted model with tfjs (registration, and a worker's
   * load of a registered model): killed past either limit, with 422 model_invalid.
   */
  modelInspector: {
    /** Wall time to build the model, once the child is up. @defaultValue 30000 */
    timeoutMs: number;
    /** The child's memory (resident set, tfjs included; also its V8 heap limit). @defaultValue 1024 */
    memoryMb: number;
    /** Children one process runs at once; more registrations wait their turn. @defaultValue 2 */
    concurrency: number;
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, key: string, fallback: string): string {
  const v = env[key];
  return v === undefined || v === '' ? fallback : v;
}

function int(env: Env, key: string, fallback: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

/** A credential: long enough to resist guessing, or unset. */
function secret(env: Env, key: string): string | undefined {
  const v = env[key];
  if (v === undefined || v === '') return undefined;
  if (v.length < 24) throw new ConfigError(`${key} must be at least 24 characters`);
  return v;
}

function bool(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(`${key} must be true or false, got "${raw}"`);
}

function url(env: Env, key: string, fallback: string, protocols: string[]): string {
  const v = str(env, key, fallback);
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(`${key} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${key} must use ${protocols.join(' or ')}`);
  }
  return v;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function list(env: Env, key: string): string[] {
  return str(env, key, '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Normalises each entry as WHATWG URL normalises a URL's host (case, IDN, IPv4 spellings,
 * IPv6 compression), so that matching a URL against the list is plain string comparison.
 */
function hostList(env: Env, key: string): string[] {
  return list(env, key).map((entry) => {
    const m = /^(\*\.)?([^:/?#@\\\s[\]*]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/.exec(entry);
    let host: string | undefined;
    try {
      if (m) host = new URL(`http://${m[2]}/`).hostname.replace(/\.$/, '');
    } catch {
      // Reported below.
    }
    if (!m || !host || (m[3] !== undefined && Number(m[3]) > 65535)) {
      throw new ConfigError(`${key}: "${entry}" is not a hostname, host:port or *.domain`);
    }
    return `${m[1] ?? ''}${host}${m[3] !== undefined ? `:${Number(m[3])}` : ''}`;
  });
}

/** Exact origins (scheme://host[:port]), as browsers send them in the Origin header. */
function originList(env: Env, key: string): string[] {
  return list(env, key).map((entry) => {
    let origin: string | undefined;
    try {
      const u = new URL(entry);
      const bare = u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password;
      if ((u.protocol === 'https:' || u.protocol === 'http:') && bare) origin = u.origin;
    } catch {
      // Reported below.
    }
    if (!origin) throw new ConfigError(`${key}: "${entry}" is not an origin such as https://app.example.com`);
    return origin;
  });
}

/** The repository's own cache folder (gitignored), wherever the process was started from. */
export const DEFAULT_NATIVE_DIR = fileURLToPath(new URL('../../.native', import.meta.url));
function httpTimeouts(env: Env): Config['http'] {
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100);
  // Node refuses a headers timeout longer than the request timeout.
  return { requestTimeoutMs, headersTimeoutMs: Math.min(int(env, 'HEADERS_TIMEOUT_MS', 10_000, 100), requestTimeoutMs) };
}

const BACKENDS: TfBackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * This process's environment with settings of the caller's own: `overrides` win
 * over the environment, which wins over `defaults`. For scripts and tests that
 * run parts of the service beside each other.
 */
export function loadConfigWith(overrides: Env, defaults: Env = {}): Config {
  return loadConfig({ ...defaults, ...process.env, ...overrides });
}

export function loadConfig(env: Env = process.env): Config {
  const tfBackend = str(env, 'TF_BACKEND', 'auto') as TfBackendChoice;
  if (!BACKENDS.includes(tfBackend)) {
    throw new ConfigError(`TF_BACKEND must be one of ${BACKENDS.join(', ')}`);
  }
  const logFormat = str(env, 'LOG_FORMAT', 'auto') as LogFormatChoice;
  if (!LOG_FORMATS.includes(logFormat)) throw new ConfigError(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);
  const s3Endpoint = env.S3_ENDPOINT ? url(env, 'S3_ENDPOINT', '', ['http:', 'https:']) : undefined;
  const bucket = str(env, 'S3_BUCKET', 'finetune');
  if (!BUCKET_NAME.test(bucket)) throw new ConfigError('S3_BUCKET is not a valid bucket name');
  const sourceBuckets = list(env, 'S3_SOURCE_BUCKETS');
  for (const b of sourceBuckets) if (!BUCKET_NAME.test(b)) throw new ConfigError(`S3_SOURCE_BUCKETS: "${b}" is not a valid bucket name`);

  const config: Config = {
    host: str(env, 'HOST', '127.0.0.1'),
    port: int(env, 'PORT', 3000),
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    logPretty: wantsPrettyLogs({
      format: logFormat,
      pretty: env.LOG_PRETTY ? bool(env, 'LOG_PRETTY', false) : undefined,
      nodeEnv: env.NODE_ENV,
      stdoutIsTTY: process.stdout.isTTY === true,
      prettyInstalled: pinoPrettyInstalled,
    }),
    metricsPublic: bool(env, 'METRICS_PUBLIC', false),
    databaseUrl: url(env, 'DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/finetune', ['postgres:', 'postgresql:']),
    // Port 0: any free port (the sandboxes are handed the URL).
    embeddedPg: env.DATABASE_URL ? undefined : { dir: str(env, 'EMBEDDED_PG_DIR', '.data/pg'), port: int(env, 'EMBEDDED_PG_PORT', 0) },
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    queueName: str(env, 'QUEUE_NAME', 'finetune-jobs'),
    s3: {
      endpoint: s3Endpoint,
      bucket,
      region: str(env, 'S3_REGION', 'us-east-1'),
      // s3rver accepts any credentials; the embedded server and tests use these.
      accessKeyId: str(env, 'S3_ACCESS_KEY_ID', 'S3RVER'),
      secretAccessKey: str(env, 'S3_SECRET_ACCESS_KEY', 'S3RVER'),
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', true),
      sourceBuckets: Object.freeze([...new Set([bucket, ...sourceBuckets])]),
      publicEndpoint: env.S3_PUBLIC_ENDPOINT ? url(env, 'S3_PUBLIC_ENDPOINT', '', ['http:', 'https:']) : undefined,
      // SigV4 presigned URLs last at most 7 days.
      uploadUrlTtlSeconds: Math.min(int(env, 'UPLOAD_URL_TTL_SECONDS', 900, 10), 604_800),
    },
    embeddedS3: {
      dir: str(env, 'EMBEDDED_S3_DIR', '.data/s3'),
      port: int(env, 'EMBEDDED_S3_PORT', 4569),
    },
    quickstartKeyFile: str(env, 'QUICKSTART_KEY_FILE', '.data/api-key'),
    worker: {
      concurrency: int(env, 'WORKER_CONCURRENCY', 1, 1),
      lockDurationMs: int(env, 'WORKER_LOCK_DURATION_MS', 60_000, 5_000),
      jobAttempts: int(env, 'JOB_ATTEMPTS', 3, 1),
      cancelPollMs: int(env, 'CANCEL_POLL_MS', 500, 50),
      leaseMs: int(env, 'JOB_LEASE_MS', 30_000, 1_000),
      reconcileIntervalMs: int(env, 'RECONCILE_INTERVAL_MS', 15_000, 100),
      trainThreads: int(env, 'TRAIN_THREADS', Math.min(8, availableParallelism()), 1),
      parallelMinExamples: int(env, 'TRAIN_PARALLEL_MIN_EXAMPLES', 2048, 0),
    },
    tfBackend,
    tfNativeDir: str(env, 'TF_NATIVE_DIR', DEFAULT_NATIVE_DIR),
    tfGpuAllowGrowth: bool(env, 'TF_FORCE_GPU_ALLOW_GROWTH', true),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 30_000, 100),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024),
    http: httpTimeouts(env),
    eventsPollMs: int(env, 'EVENTS_POLL_MS', 500, 20),
    auth: {
      adminApiKey: secret(env, 'ADMIN_API_KEY'),
      urlSigningSecret: secret(env, 'URL_SIGNING_SECRET'),
      signedUrlTtlSeconds: int(env, 'SIGNED_URL_TTL_SECONDS', 900, 10),
    },
    limits: {
      requestsPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 600, 1),
      queuedJobsPerTenant: int(env, 'MAX_QUEUED_JOBS_PER_TENANT', 50, 1),
      runningJobsPerTenant: int(env, 'MAX_RUNNING_JOBS_PER_TENANT', 4, 1),
      datasetRows: int(env, 'MAX_DATASET_ROWS', 1_000_000, 1),
      datasetFeatures: int(env, 'MAX_DATASET_FEATURES', 10_000, 1),
      datasetClasses: int(env, 'MAX_DATASET_CLASSES', 1_000, 2),
      modelBytes: int(env, 'MAX_MODEL_BYTES', 100 * 2 ** 20, 1),
      modelLayers: int(env, 'MAX_MODEL_LAYERS', 256, 1),
      epochExamples: int(env, 'MAX_EPOCH_EXAMPLES', 100_000_000, 1),
      pageSize: int(env, 'MAX_PAGE_SIZE', 100, 1),
      eventPageSize: int(env, 'MAX_EVENT_PAGE_SIZE', 500, 1),
    },
    corsOrigins: Object.freeze(originList(env, 'CORS_ORIGINS')),
    webhooks: {
      pollMs: int(env, 'WEBHOOK_POLL_MS', 1000, 20),
      maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1),
      retryBaseMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 5000, 10),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100),
      allowedHosts: Object.freeze(hostList(env, 'OUTBOUND_ALLOWED_HOSTS')),
    },
    idempotencyTtlHours: int(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1),
    maxModelParams: int(env, 'MAX_MODEL_PARAMS', 20_000_000, 1),
    maxDatasetBytes: int(env, 'MAX_DATASET_BYTES', 256 * 2 ** 20, 1),
    modelInspector: {
      timeoutMs: int(env, 'MODEL_INSPECT_TIMEOUT_MS', 30_000, 100),
      // Node, tsx and tfjs alone take about 200 MiB.
      memoryMb: int(env, 'MODEL_INSPECT_MEMORY_MB', 1024, 256),
      concurrency: int(env, 'MODEL_INSPECT_CONCURRENCY', 2, 1),
    },
  };
  return Object.freeze(config);
}

/**
 * The environment that reproduces `config` in a child process (the worker's
 * sandboxes), so a child sees exactly its parent's settings, tests' included.
 */
export function configToEnv(config: Config): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    // Inherit the rest (PATH, HOME, CUDA's LD_LIBRARY_PATH, ...).
    ...process.env,
    HOST: config.host,
    PORT: String(config.port),
    LOG_LEVEL: config.logLevel,
    LOG_PRETTY: String(config.logPretty),
    LOG_FORMAT: config.logPretty ? 'pretty' : 'json',
    METRICS_PUBLIC: String(config.metricsPublic),
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    QUEUE_NAME: config.queueName,
    S3_BUCKET: config.s3.bucket,
    S3_REGION: config.s3.region,
    S3_ACCESS_KEY_ID: config.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: config.s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: String(config.s3.forcePathStyle),
    S3_SOURCE_BUCKETS: config.s3.sourceBuckets.join(','),
    UPLOAD_URL_TTL_SECONDS: String(config.s3.uploadUrlTtlSeconds),
    EMBEDDED_S3_DIR: config.embeddedS3.dir,
    EMBEDDED_S3_PORT: String(config.embeddedS3.port),
    QUICKSTART_KEY_FILE: config.quickstartKeyFile,
    WORKER_CONCURRENCY: String(config.worker.concurrency),
    WORKER_LOCK_DURATION_MS: String(config.worker.lockDurationMs),
    JOB_ATTEMPTS: String(config.worker.jobAttempts),
    CANCEL_POLL_MS: String(config.worker.cancelPollMs),
    JOB_LEASE_MS: String(config.worker.leaseMs),
    RECONCILE_INTERVAL_MS: String(config.worker.reconcileIntervalMs),
    TRAIN_THREADS: String(config.worker.trainThreads),
    TRAIN_PARALLEL_MIN_EXAMPLES: String(config.worker.parallelMinExamples),
    TF_BACKEND: config.tfBackend,
    TF_NATIVE_DIR: config.tfNativeDir,
    // TensorFlow reads it from the environment of the process that trains.
    TF_FORCE_GPU_ALLOW_GROWTH: String(config.tfGpuAllowGrowth),
    SHUTDOWN_TIMEOUT_MS: String(config.shutdownTimeoutMs),
    BODY_LIMIT_BYTES: String(config.bodyLimitBytes),
    REQUEST_TIMEOUT_MS: String(config.http.requestTimeoutMs),
    HEADERS_TIMEOUT_MS: String(config.http.headersTimeoutMs),
    IDEMPOTENCY_TTL_HOURS: String(config.idempotencyTtlHours),
    EVENTS_POLL_MS: String(config.eventsPollMs),
    SIGNED_URL_TTL_SECONDS: String(config.auth.signedUrlTtlSeconds),
    RATE_LIMIT_PER_MINUTE: String(config.limits.requestsPerMinute),
    MAX_QUEUED_JOBS_PER_TENANT: String(config.limits.queuedJobsPerTenant),
    MAX_RUNNING_JOBS_PER_TENANT: String(config.limits.runningJobsPerTenant),
    MAX_DATASET_ROWS: String(config.limits.datasetRows),
    MAX_DATASET_FEATURES: String(config.limits.datasetFeatures),
    MAX_DATASET_CLASSES: String(config.limits.datasetClasses),
    MAX_MODEL_BYTES: String(config.limits.modelBytes),
    MAX_MODEL_LAYERS: String(config.limits.modelLayers),
    MAX_EPOCH_EXAMPLES: String(config.limits.epochExamples),
    MAX_PAGE_SIZE: String(config.limits.pageSize),
    MAX_EVENT_PAGE_SIZE: String(config.limits.eventPageSize),
    CORS_ORIGINS: config.corsOrigins.join(','),
    WEBHOOK_POLL_MS: String(config.webhooks.pollMs),
    WEBHOOK_MAX_ATTEMPTS: String(config.webhooks.maxAttempts),
    WEBHOOK_RETRY_BASE_MS: String(config.webhooks.retryBaseMs),
    WEBHOOK_TIMEOUT_MS: String(config.webhooks.timeoutMs),
    OUTBOUND_ALLOWED_HOSTS: config.webhooks.allowedHosts.join(','),
    MAX_MODEL_PARAMS: String(config.maxModelParams),
    MAX_DATASET_BYTES: String(config.maxDatasetBytes),
    MODEL_INSPECT_TIMEOUT_MS: String(config.modelInspector.timeoutMs),
    MODEL_INSPECT_MEMORY_MB: String(config.modelInspector.memoryMb),
    MODEL_INSPECT_CONCURRENCY: String(config.modelInspector.concurrency),
  };
  if (config.s3.endpoint) env.S3_ENDPOINT = config.s3.endpoint;
  if (config.s3.publicEndpoint) env.S3_PUBLIC_ENDPOINT = config.s3.publicEndpoint;
  if (config.embeddedPg) {
    env.EMBEDDED_PG_DIR = config.embeddedPg.dir;
    env.EMBEDDED_PG_PORT = String(config.embeddedPg.port);
  }
  if (config.auth.adminApiKey) env.ADMIN_API_KEY = config.auth.adminApiKey;
  if (config.auth.urlSigningSecret) env.URL_SIGNING_SECRET = config.auth.urlSigningSecret;
  return env;
}

/** What `npm run native:install` gets, from where (apps/native/install.ts). */
export interface NativeInstallConfig {
  /** TF_NATIVE_DIR, as for the service. */
  dir: string;
  /** TF_WHEEL: a TensorFlow wheel file to use instead of asking pip. */
  wheel?: string;
  /** TF_PIP_SPEC: what pip downloads; `tensorflow[and-cuda]==2.21.0` for GPUs. @defaultValue tensorflow-cpu==2.21.0 */
  pipSpec: string;
  /** TF_PYTHON: the Python whose pip is asked. @defaultValue python3 */
  python: string;
  /** Node's own headers for node-gyp (npm's nodedir setting); unset: beside this Node's binary. */
  nodedir?: string;
  /** npm's bundled node-gyp (npm sets npm_config_node_gyp for scripts). */
  nodeGyp?: string;
  /** The npm running the script (npm_execpath), to install tfjs-node with. */
  npmCli?: string;
}

export function loadNativeInstallConfig(env: Env = process.env): NativeInstallConfig {
  return Object.freeze({
    dir: str(env, 'TF_NATIVE_DIR', DEFAULT_NATIVE_DIR),
    wheel: env.TF_WHEEL || undefined,
    pipSpec: str(env, 'TF_PIP_SPEC', 'tensorflow-cpu==2.21.0'),
    python: str(env, 'TF_PYTHON', 'python3'),
    nodedir: env.npm_config_nodedir || undefined,
    nodeGyp: env.npm_config_node_gyp || undefined,
    npmCli: env.npm_execpath || undefined,
  });
}

/**
 * The environment of a child that handles untrusted input (the model inspector): enough to
 * run node, and none of the service's settings, keys or credentials.
 */
export function sandboxEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
}

/** Same config, pointed at the embedded Postgres once it is up. */
export function withDatabaseUrl(config: Config, databaseUrl: string): Config {
  return Object.freeze({ ...config, databaseUrl });
}

/** Same config, with the S3 endpoint filled in (once the embedded server is up). */
export function withS3Endpoint(config: Config, endpoint: string): Config {
  return Object.freeze({ ...config, s3: { ...config.s3, endpoint } });
}
