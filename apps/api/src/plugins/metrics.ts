// Prometheus metrics at GET /metrics (text exposition format). HTTP latency is
// observed here; job, queue, training and worker figures are read at scrape
// time from Postgres and Redis, since workers train in other processes. Each
// app has its own registry (tests build several apps in one process); the
// process's own figures (CPU, memory, event loop) come from one shared registry.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../../../shared/config.ts';
import { ScrapedHistogram } from '../services/scraped-histogram.ts';
import { JOB_STATUSES } from '../schemas/jobs.ts';
import { BUCKETS, QUEUE_STATES, readJobSnapshot, readQueueSnapshot } from '../services/metrics-sources.ts';

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** HTTP latency, observed as each response ends. */
function observeHttpDuration(app: FastifyInstance, registers: Registry[]): void {
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status code',
    labelNames: ['route', 'method', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  app.addHook('onResponse', (req, reply, done) => {
    // The route pattern (/v1/jobs/:id), never the raw URL: one series per route, not per id.
    const route = req.routeOptions.url ?? 'unmatched';
    httpDuration.observe({ route, method: req.method, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}

/** The series read at scrape time from Postgres and Redis. */
function scrapedSeries(registry: Registry) {
  const registers = [registry];
  return {
    up: new Gauge({ name: 'finetune_metrics_source_up', help: 'Whether this scrape could read the source (postgres, redis)', labelNames: ['source'], registers }),
    jobs: new Gauge({ name: 'finetune_jobs', help: 'Jobs by status (all tenants)', labelNames: ['status'], registers }),
    queueJobs: new Gauge({ name: 'finetune_queue_jobs', help: 'BullMQ jobs in the queue by state', labelNames: ['state'], registers }),
    workers: new Gauge({ name: 'finetune_worker_info', help: 'Live workers (Redis heartbeats): 1 per worker, labelled with its tfjs backend', labelNames: ['worker_id', 'host', 'backend'], registers }),
    running: new Gauge({ name: 'finetune_running_examples_per_second', help: 'Training throughput of running jobs (each job\'s latest epoch), summed by backend', labelNames: ['backend'], registers }),
    wait: new ScrapedHistogram('finetune_job_wait_seconds', 'Time from submission to first start, by job type', BUCKETS.jobWaitSeconds, registry),
    run: new ScrapedHistogram('finetune_job_run_seconds', 'Time from first start to the end, by job type and final status', BUCKETS.jobRunSeconds, registry),
    epoch: new ScrapedHistogram('finetune_epoch_duration_seconds', 'Duration of each training epoch, by backend', BUCKETS.epochSeconds, registry),
    throughput: new ScrapedHistogram('finetune_training_examples_per_second', 'Training examples per second of each epoch, by backend', BUCKETS.examplesPerSecond, registry),
  };
}

/** This instance's job ETag cache (issue 19), and how full Postgres's notification queue is. */
function jobCacheSeries(app: FastifyInstance, registry: Registry) {
  const hits = app.jobEtags.hits;
  new Counter({
    name: 'finetune_job_cache_hits_total',
    help: 'Job reads this instance answered from memory: kind "version" (an ETag: a 304 when it matches) or "body" (a plain GET\'s 200)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ kind: 'version' }, hits.version);
      this.inc({ kind: 'body' }, hits.body);
    },
  });
  // Every NOTIFY waits once the queue (8 GB) is full, and a listener that stops reading fills it.
  new Gauge({
    name: 'finetune_pg_notification_queue_usage',
    help: 'pg_notification_queue_usage(): the fraction of Postgres\'s NOTIFY queue in use (job_changed, issue 19)',
    registers: [registry],
    async collect() {
      this.reset(); // unreadable: left out rather than stale
      const { rows } = await app.sql.query<{ usage: number }>({ text: 'SELECT pg_notification_queue_usage() AS usage' }).catch(() => ({ rows: [] as { usage: number }[] }));
      if (rows.length) this.set(Number(rows[0].usage));
    },
  });
}

async function refresh(app: FastifyInstance, config: Config, m: ReturnType<typeof scrapedSeries>): Promise<void> {
  const [pg, redis] = await Promise.allSettled([readJobSnapshot(app.db), readQueueSnapshot(app.queue, app.redis, config.queueName)]);
  // A source that can't be read leaves its series out rather than stale.
  for (const series of [m.jobs, m.running, m.wait, m.run, m.epoch, m.throughput, m.queueJobs, m.workers]) series.reset();
  m.up.set({ source: 'postgres' }, pg.status === 'fulfilled' ? 1 : 0);
  m.up.set({ source: 'redis' }, redis.status === 'fulfilled' ? 1 : 0);
  if (pg.status === 'fulfilled') {
    const s = pg.value;
    for (const status of JOB_STATUSES) m.jobs.set({ status }, s.byStatus[status] ?? 0);
    for (const [backend, v] of Object.entries(s.runningExamplesPerSecond)) m.running.set({ backend }, v);
    m.wait.set(s.waitSeconds);
    m.run.set(s.runSeconds);
    m.epoch.set(s.epochSeconds);
    m.throughput.set(s.examplesPerSecond);
  } else app.log.warn({ err: (pg.reason as Error).message }, 'metrics: Postgres not readable');
  if (redis.status === 'fulfilled') {
    for (const state of QUEUE_STATES) m.queueJobs.set({ state }, redis.value.counts[state] ?? 0);
    for (const w of redis.value.workers) m.workers.set({ worker_id: w.id, host: w.host, backend: w.backend }, 1);
  } else app.log.warn({ err: (redis.reason as Error).message }, 'metrics: Redis not readable');
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const registry = new Registry();
    observeHttpDuration(app, [registry]);
    const series = scrapedSeries(registry);
    jobCacheSeries(app, registry);

    // Concurrent scrapes share one read of Postgres and Redis (and one consistent snapshot).
    let inflight: Promise<string> | undefined;
    const render = async () => {
      await refresh(app, config, series);
      return (await registry.metrics()) + '\n' + (await processMetrics().metrics());
    };

    app.get('/metrics', {
      config: { auth: config.metricsPublic ? 'public' : 'admin' },
      schema: {
        tags: ['observability'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        description: 'Needs the admin key unless METRICS_PUBLIC=true. Job, queue, training and worker figures are read from Postgres and Redis at scrape time, so every API instance reports the same values for them.',
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
      handler: async (_req, reply) => {
        inflight ??= render().finally(() => {
          inflight = undefined;
        });
        return reply.type(registry.contentType).send(await inflight);
      },
    });
  },
  { name: 'metrics', dependencies: ['db', 'queue', 'auth', 'job-changes'] },
);
