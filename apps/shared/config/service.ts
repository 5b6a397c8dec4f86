// Settings of the HTTP service: listening, logs, timeouts, keys, webhooks.
import { LOG_FORMATS, pinoPrettyInstalled, wantsPrettyLogs } from '../log-format.ts';
import { bool, int, list, oneOf, optionalBool, optionalUrl, secret, str } from './kinds.ts';
import { Setting } from './setting.ts';

const logFormat = oneOf('LOG_FORMAT', LOG_FORMATS, 'auto', {
  doc: '`auto`: pretty when stdout is a terminal and `NODE_ENV` isn\'t `production`, else JSON; `json` or `pretty` forces one (see [Observability](#observability))',
  example: 'pretty',
});
const logPrettySwitch = optionalBool('LOG_PRETTY', { doc: 'the older switch, used when `LOG_FORMAT` is `auto`' });

/**
 * Human-readable logs (pino-pretty) instead of JSON lines: LOG_FORMAT, else LOG_PRETTY, else on
 * when stdout is a terminal and NODE_ENV isn't production; off when pino-pretty isn't installed.
 * A child is handed the decision itself, so it logs as its parent does whatever its stdout is.
 */
const logPretty = new Setting<boolean>([...logFormat.vars, ...logPrettySwitch.vars], {
  read: (env) =>
    wantsPrettyLogs({
      format: logFormat.read(env),
      pretty: logPrettySwitch.read(env),
      nodeEnv: env.NODE_ENV,
      stdoutIsTTY: process.stdout.isTTY === true,
      prettyInstalled: pinoPrettyInstalled,
    }),
  write: (pretty) => ({ ...logFormat.write(pretty ? 'pretty' : 'json'), ...logPrettySwitch.write(pretty) }),
});

const requestTimeoutMs = int('REQUEST_TIMEOUT_MS', 30_000, {
  min: 100,
  doc: 'a whole request, headers and body, must arrive within this; then `408 request_timeout` and the socket is closed (a client that declares a body and stalls cannot hold a socket)',
});

export const httpServer = {
  host: str('HOST', '127.0.0.1', { what: 'host name or IP address', doc: 'HTTP listen address (`0.0.0.0` in Docker)' }),
  port: int('PORT', 3000, { doc: 'HTTP port' }),
  logLevel: str('LOG_LEVEL', 'info', { what: 'pino level', doc: 'the least severe log lines written: `trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`' }),
  logPretty,
  metricsPublic: bool('METRICS_PUBLIC', false, { doc: 'serve `GET /metrics` without a key; otherwise it needs the admin key' }),
  shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 30_000, { min: 100, doc: 'grace period on SIGTERM for in-flight requests and running jobs' }),
  bodyLimitBytes: int('BODY_LIMIT_BYTES', 1_048_576, { min: 1024, doc: 'largest accepted request body' }),
  http: {
    requestTimeoutMs,
    // Node refuses a headers timeout longer than the request timeout.
    headersTimeoutMs: int('HEADERS_TIMEOUT_MS', 10_000, {
      min: 100,
      cap: requestTimeoutMs,
      doc: 'the request headers must arrive within this (slow-headers clients); then `408 request_timeout`',
    }),
  },
  corsOrigins: list('CORS_ORIGINS', 'origin', {
    shown: 'empty (no CORS)',
    doc: 'browser origins allowed to call the API; nothing else gets a CORS header',
  }),
  idempotencyTtlHours: int('IDEMPOTENCY_TTL_HOURS', 24, { min: 1, doc: 'how long an `Idempotency-Key` and its stored response are kept' }),
  eventsPollMs: int('EVENTS_POLL_MS', 500, { min: 20, doc: 'how often an SSE stream looks for new events (and a long-polled job read for a change)' }),
  longPollMaxMs: int('LONG_POLL_MAX_MS', 30_000, {
    min: 0,
    doc: 'the longest `waitForChangeMs` a job read may ask for (it answers once the job changes, or 304 when the time is up); more is `400`',
  }),
  jobEtagCache: {
    ttlMs: int('JOB_ETAG_CACHE_MS', 5000, {
      min: 0,
      cap: 60_000,
      example: '2000',
      doc: 'how long an instance may answer a job read (`304`, or a plain GET\'s `200`) from what it read before, without Postgres; it is dropped sooner when Postgres notifies a change (milliseconds after the commit), so this bounds staleness only if notifications stop arriving unnoticed (0 turns the cache off; see [API performance](performance-api.md))',
    }),
    listenUrl: optionalUrl('JOB_CHANGES_DATABASE_URL', ['postgres:', 'postgresql:'], {
      doc: 'where the API LISTENs for job changes, when `DATABASE_URL` goes through a pool that cannot hold a LISTEN (PgBouncer in transaction mode): Postgres itself, or a session-mode pool (unset: `DATABASE_URL`; see [Operations](operations.md))',
    }),
    maxEntries: int('JOB_ETAG_CACHE_ENTRIES', 100_000, { min: 1, doc: 'the most job ETags one instance keeps (the oldest tenth goes when full)' }),
    bodyBytes: int('JOB_ETAG_CACHE_BODY_BYTES', 33_554_432, {
      min: 0,
      doc: 'how much of the jobs\' response bodies (about bytes) one instance keeps beside their ETags, to answer a plain GET of an unchanged job from memory under the same bound (oldest first out; one body at most 1% of it; 0 keeps none)',
    }),
  },
};

export const keys = {
  auth: {
    adminApiKey: secret('ADMIN_API_KEY', {
      shown: 'unset (no admin access)',
      doc: 'the operator\'s key: creates tenants and their keys, and reaches the admin surfaces',
    }),
    urlSigningSecret: secret('URL_SIGNING_SECRET', {
      shown: 'random per process',
      doc: 'signs short-lived model download URLs; set one shared value for several API instances',
    }),
    signedUrlTtlSeconds: int('SIGNED_URL_TTL_SECONDS', 900, { min: 10, doc: 'how long a signed model URL works' }),
    keyCacheMs: int('AUTH_CACHE_MS', 1000, {
      min: 0,
      cap: 1000,
      example: '500',
      doc: 'how long an instance trusts an API key it looked up without asking Postgres again; a revoked key is refused on every instance within this (at most 1 s, 0 turns the cache off)',
    }),
  },
};

export const webhooks = {
  // Here, not top-level, because webhooks are the only requests the service sends to hosts its
  // callers name, and the dispatcher is handed this section alone.
  webhooks: {
    pollMs: int('WEBHOOK_POLL_MS', 1000, { min: 20, doc: 'how often the API looks for webhooks to send' }),
    maxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 8, { min: 1, doc: 'attempts per delivery before it is marked `failed`' }),
    retryBaseMs: int('WEBHOOK_RETRY_BASE_MS', 5000, { min: 10, doc: 'first retry delay; doubles each attempt, at most an hour' }),
    timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, { min: 100, doc: 'per attempt' }),
    allowedHosts: list('OUTBOUND_ALLOWED_HOSTS', 'host', {
      shown: 'empty (any public https host)',
      doc: 'entries that webhook URLs must match. A listed host may use `http:`, and an exactly listed host may resolve to private addresses (see [Outbound requests](#outbound-requests-ssrf))',
    }),
  },
};
