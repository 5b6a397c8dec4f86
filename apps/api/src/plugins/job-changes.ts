// Keeps services/job-etag-cache.ts right (issue 19): one pg connection per
// instance LISTENs on "job_changed" (sent by triggers at every commit that may
// change a job's response, whoever wrote it), and a write made through this
// instance drops its job's entry before its response leaves, so the caller's next
// poll cannot be answered from what it had. While the connection is down the
// cache is off; it starts over empty once LISTEN is back.
// Off with the embedded PGlite (its connections share one session) and with JOB_ETAG_CACHE_MS=0.
import fp from 'fastify-plugin';
import pg from 'pg';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { JobEtagCache } from '../services/job-etag-cache.ts';

declare module 'fastify' {
  interface FastifyInstance {
    jobEtags: JobEtagCache;
  }
}

export const JOB_CHANGED_CHANNEL = 'job_changed';
/** The listener's application_name in pg_stat_activity. */
export const LISTENER_NAME = 'finetune-api job changes';
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

/** Routes that change existing jobs without naming one in their path: drop every entry. */
const CHANGE_MANY = new Set(['DELETE /v1/models/:id', 'POST /v1/sweeps/:id/cancel']);

/** What a finished write through this instance may have changed. */
function afterWrite(cache: JobEtagCache, req: FastifyRequest) {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  const route = req.routeOptions.url ?? '';
  if (route.startsWith('/v1/jobs/:id/')) cache.changed((req.params as { id: string }).id);
  else if (CHANGE_MANY.has(`${req.method} ${route}`)) cache.clear();
}

/** One LISTEN connection, reconnected with backoff until the app closes. */
function listen(databaseUrl: string, cache: JobEtagCache, log: { warn: (o: object, m: string) => void }) {
  let closed = false;
  let client: pg.Client | undefined;
  let delay = RETRY_MIN_MS;
  let timer: NodeJS.Timeout | undefined;
  const retry = () => {
    cache.setOnline(false);
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };
  const connect = async () => {
    const c = new pg.Client({ connectionString: databaseUrl, keepAlive: true, application_name: LISTENER_NAME });
    client = c;
    let failed = false;
    const lost = (err?: Error) => {
      if (failed) return;
      failed = true;
      if (err && !closed) log.warn({ err: err.message }, 'job change listener lost; the job ETag cache is off until it is back');
      if (client === c) client = undefined;
      c.end().catch(() => undefined);
      retry();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (n) => {
      if (n.channel === JOB_CHANGED_CHANNEL && n.payload) cache.changed(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${JOB_CHANGED_CHANNEL}`);
      if (closed || failed) return void c.end().catch(() => undefined);
      delay = RETRY_MIN_MS;
      // Notifications sent while it was down are lost: whatever was kept is forgotten.
      cache.setOnline(true);
    } catch (err) {
      lost(err as Error);
    }
  };
  void connect();
  return async () => {
    closed = true;
    clearTimeout(timer);
    cache.setOnline(false);
    await client?.end().catch(() => undefined);
  };
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const { ttlMs, maxEntries, bodyBytes } = config.jobEtagCache;
    const cache = new JobEtagCache(ttlMs, maxEntries, bodyBytes);
    app.decorate('jobEtags', cache);
    if (ttlMs === 0 || config.embeddedPg) return;
    app.addHook('onSend', (req, _reply, payload, done) => {
      afterWrite(cache, req);
      done(null, payload);
    });
    let stop: (() => Promise<void>) | undefined;
    app.addHook('onReady', (done) => {
      stop = listen(config.databaseUrl, cache, app.log);
      done();
    });
    app.addHook('onClose', async () => {
      await stop?.();
    });
  },
  { name: 'job-changes', dependencies: ['db'] },
);
