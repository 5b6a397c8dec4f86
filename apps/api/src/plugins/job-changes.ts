// Keeps services/job-etag-cache.ts right (issue 19): one pg connection per
// instance LISTENs on "job_changed" (sent by triggers at every commit that may
// change a job's response, whoever wrote it), and a write made through this
// instance drops its job's entry before its response leaves, so the caller's next
// poll cannot be answered from what it had. While the listener is not confirmed
// by a probe (services/job-change-listener.ts) the cache is off; it starts over
// empty once it is.
// Off with the embedded PGlite (its connections share one session) and with JOB_ETAG_CACHE_MS=0.
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { JobEtagCache } from '../services/job-etag-cache.ts';
import { JobChangeListener } from '../services/job-change-listener.ts';

declare module 'fastify' {
  interface FastifyInstance {
    jobEtags: JobEtagCache;
  }
}

export { JOB_CHANGED_CHANNEL, LISTENER_NAME } from '../services/job-change-listener.ts';

/** Routes that change existing jobs without naming one in their path: drop every entry. */
const CHANGE_MANY = new Set(['DELETE /v1/models/:id', 'POST /v1/sweeps/:id/cancel']);

/**
 * What a finished write through this instance may have changed. Only a write that
 * happened counts (2xx): a 404 (another tenant's job, a model that does not exist)
 * changed nothing, and must not cost the other tenants their entries. A 409 on a
 * job (only ever the caller's own) still drops that one entry: the conflict may be
 * a state this instance has not been notified of yet, and one read is cheap.
 */
function afterWrite(cache: JobEtagCache, req: FastifyRequest, status: number) {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  const ok = status >= 200 && status < 300;
  const route = req.routeOptions.url ?? '';
  if (route.startsWith('/v1/jobs/:id/')) {
    if (ok || status === 409) cache.changed((req.params as { id: string }).id);
  } else if (ok && CHANGE_MANY.has(`${req.method} ${route}`)) cache.clear();
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const { ttlMs, maxEntries, bodyBytes } = config.jobEtagCache;
    const cache = new JobEtagCache(ttlMs, maxEntries, bodyBytes);
    app.decorate('jobEtags', cache);
    if (ttlMs === 0 || config.embeddedPg) return;
    app.addHook('onSend', (req, reply, payload, done) => {
      afterWrite(cache, req, reply.statusCode);
      done(null, payload);
    });
    const probeEveryMs = Math.max(250, Math.floor(ttlMs / 2));
    const listener = new JobChangeListener(cache, {
      listenUrl: config.jobEtagCache.listenUrl ?? config.databaseUrl,
      query: (text, values) => app.sql.query({ text, values }),
      probeEveryMs,
      probeTimeoutMs: Math.min(5000, probeEveryMs),
      log: app.log,
    });
    app.addHook('onReady', (done) => {
      listener.start();
      done();
    });
    app.addHook('onClose', async () => {
      await listener.close();
    });
  },
  { name: 'job-changes', dependencies: ['db'] },
);
