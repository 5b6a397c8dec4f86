// /metrics: Prometheus text that a scraper (curl) can read, whose job, queue,
// training and worker figures follow what really happens, and the key it needs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Parses the text exposition format strictly enough that malformed output fails the test. */
function parse(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      assert.match(comment[2], METRIC_NAME, line);
      if (comment[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(comment[3]), line);
        assert.ok(!types.has(comment[2]), `${comment[2]} is declared twice`);
        types.set(comment[2], comment[3]);
      } else helps.add(comment[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let rest = 0;
      for (let l = re.exec(m[2]); l; l = re.exec(m[2])) {
        labels[l[1]] = l[2];
        rest = re.lastIndex;
      }
      assert.equal(rest, m[2].length, `bad labels: ${line}`);
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    // Prometheus parses floats as Go does: NaN in any case (prom-client writes "Nan").
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]), `bad value: ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  for (const s of samples) {
    const family = [...types.keys()].find((f) => s.name === f || (/_(bucket|sum|count)$/.test(s.name) && s.name.replace(/_(bucket|sum|count)$/, '') === f));
    assert.ok(family, `${s.name} has no # TYPE`);
    assert.ok(helps.has(family), `${family} has no # HELP`);
  }
  return { types, samples };
}

/** The sum of a family's samples whose labels include `match` (0 when none). */
function value(e: Exposition, name: string, match: Record<string, string> = {}): number {
  return e.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function scrape(app: App, key: string | undefined = TEST_ADMIN_KEY): Promise<Exposition> {
  const res = await http(app, key).get('/metrics');
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parse(res.text);
}

describe('metrics', () => {
  let h: Harness;
  before(async () => {
    // The worker starts later, so a job can be seen waiting in the queue first.
    h = await createHarness();
  });
  after(() => h?.close());

  it('needs the admin key', async () => {
    assert.equal((await http(h.app, '').get('/metrics')).status, 401);
    assert.equal((await http(h.app).get('/metrics')).status, 403, 'a tenant key is not enough');
    await scrape(h.app);
  });

  it('serves every family, with histograms by route pattern', async () => {
    const missing = randomUUID();
    const first = await scrape(h.app);
    for (let i = 0; i < 3; i++) assert.equal((await http(h.app).get(`/v1/jobs/${missing}`)).status, 404);
    const e = await scrape(h.app);
    const expected: Record<string, string> = {
      http_request_duration_seconds: 'histogram',
      finetune_jobs: 'gauge',
      finetune_queue_jobs: 'gauge',
      finetune_job_wait_seconds: 'histogram',
      finetune_job_run_seconds: 'histogram',
      finetune_epoch_duration_seconds: 'histogram',
      finetune_training_examples_per_second: 'histogram',
      finetune_running_examples_per_second: 'gauge',
      finetune_worker_info: 'gauge',
      finetune_metrics_source_up: 'gauge',
      process_cpu_user_seconds_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(e.types.get(name), type, name);
    const byRoute = { route: '/v1/jobs/:id', method: 'GET', status_code: '404' };
    assert.equal(value(e, 'http_request_duration_seconds_count', byRoute) - value(first, 'http_request_duration_seconds_count', byRoute), 3);
    assert.equal(value(e, 'http_request_duration_seconds_bucket', { ...byRoute, le: '+Inf' }), value(e, 'http_request_duration_seconds_count', byRoute));
    assert.ok(!e.samples.some((s) => s.labels.route?.includes(missing)), 'no raw URLs as labels');
    assert.equal(value(e, 'finetune_metrics_source_up', { source: 'postgres' }), 1);
    assert.equal(value(e, 'finetune_metrics_source_up', { source: 'redis' }), 1);
  });

  it('follows a job from the queue to the end: status, queue depth, wait and run time, epochs, workers', async () => {
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 120 });
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 2, batchSize: 16 }, trainDatasetId: dataset.id });

    const queued = await scrape(h.app);
    assert.equal(value(queued, 'finetune_jobs', { status: 'queued' }), 1);
    assert.equal(value(queued, 'finetune_jobs', { status: 'succeeded' }), 0);
    assert.equal(value(queued, 'finetune_queue_jobs'), 1, 'the job waits in the queue with no worker');
    assert.equal(value(queued, 'finetune_job_wait_seconds_count'), 0);
    assert.equal(value(queued, 'finetune_worker_info'), 0);

    const worker = await h.startWorker();
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));

    const e = await scrape(h.app);
    assert.equal(value(e, 'finetune_jobs', { status: 'queued' }), 0);
    assert.equal(value(e, 'finetune_jobs', { status: 'succeeded' }), 1);
    assert.equal(value(e, 'finetune_queue_jobs', { state: 'waiting' }) + value(e, 'finetune_queue_jobs', { state: 'prioritized' }), 0);
    assert.equal(value(e, 'finetune_job_wait_seconds_count', { type: 'pretrain' }), 1);
    assert.equal(value(e, 'finetune_job_run_seconds_count', { type: 'pretrain', status: 'succeeded' }), 1);
    const runSeconds = value(e, 'finetune_job_run_seconds_sum', { type: 'pretrain', status: 'succeeded' });
    const expectedRun = (Date.parse(done.finishedAt) - Date.parse(done.startedAt)) / 1000;
    assert.ok(Math.abs(runSeconds - expectedRun) < 0.01, `run time ${runSeconds} vs ${expectedRun}`);
    // Buckets are cumulative and end at the count.
    const buckets = e.samples.filter((s) => s.name === 'finetune_job_run_seconds_bucket' && s.labels.status === 'succeeded').map((s) => s.value);
    assert.ok(buckets.every((v, i) => i === 0 || v >= buckets[i - 1]), buckets.join());
    assert.equal(buckets.at(-1), 1);

    const backend = done.backend as string;
    assert.equal(value(e, 'finetune_epoch_duration_seconds_count', { backend }), 2, 'one observation per epoch');
    assert.equal(value(e, 'finetune_training_examples_per_second_count', { backend }), 2);
    const metrics = (await http(h.app).get(`/v1/jobs/${job.id}/metrics`)).body.data as Array<{ durationMs: number; examplesPerSec: number }>;
    const epochSeconds = metrics.reduce((a, m) => a + m.durationMs / 1000, 0);
    assert.ok(Math.abs(value(e, 'finetune_epoch_duration_seconds_sum', { backend }) - epochSeconds) < 1e-6);
    const throughput = metrics.reduce((a, m) => a + m.examplesPerSec, 0);
    assert.ok(Math.abs(value(e, 'finetune_training_examples_per_second_sum', { backend }) - throughput) < 1e-6 * throughput);
    assert.equal(value(e, 'finetune_running_examples_per_second'), 0, 'nothing is running now');

    assert.equal(value(e, 'finetune_worker_info', { worker_id: worker.info.id, backend: worker.backend.kind }), 1);
  });

  it('is public with METRICS_PUBLIC, per app, and the queue dashboard is absent without an admin key', async () => {
    // A second app in the same process: its registry is its own, so nothing clashes.
    const other = await buildApp({ ...h.config, metricsPublic: true, auth: { ...h.config.auth, adminApiKey: undefined } }, { logger: false });
    try {
      await other.ready();
      const e = await scrape(other, '');
      assert.equal(value(e, 'http_request_duration_seconds_count', { route: '/v1/jobs/:id' }), 0, 'the other app\'s requests are not counted here');
      assert.equal(value(e, 'finetune_jobs', { status: 'succeeded' }), 1, 'job figures come from Postgres');
      const board = await http(other, h.tenant.apiKey).get('/admin/queues');
      assert.equal(board.status, 404);
      assert.equal(board.body.error.code, 'route_not_found');
    } finally {
      await other.close();
    }
  });
});
