// A job's event log: listed with a cursor, and streamed live as Server-Sent
// Events that arrive in order and end when the job does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Reads an SSE stream to its end with fetch, as a browser's EventSource would receive it. */
let apiKey = '';

async function readStream(url: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${apiKey}`, ...headers } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await res.text();
  return text.split('\n\n').filter((block) => block.trim() && !block.startsWith(':') && !block.startsWith('retry:')).map((block) => {
    const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
    return { id: fields.id, event: fields.event, data: JSON.parse(fields.data) };
  });
}

describe('job events', () => {
  let h: Harness;
  let base: string;
  let datasetId: string;
  before(async () => {
    h = await createHarness({ worker: true, env: { EVENTS_POLL_MS: '50' } });
    apiKey = h.tenant.apiKey;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 600 })).id;
  });
  after(() => h?.close());

  it('streams a running job\'s events in order over SSE, then ends', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 4, batchSize: 16 }, trainDatasetId: datasetId });
    const events = await readStream(`${base}/v1/jobs/${job.id}/events`);
    const end = events.pop()!;
    assert.equal(end.event, 'end');
    assert.equal(end.data.status, 'succeeded');
    const ids = events.map((e) => BigInt(e.id!));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), 'ids increase');
    assert.deepEqual(events.map((e) => e.event), events.map((e) => e.data.type), 'the SSE event name is the event type');
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.data.status);
    assert.deepEqual(statuses, ['queued', 'running', 'succeeded']);
    assert.deepEqual(events.filter((e) => e.event === 'epoch').map((e) => e.data.data.epoch), [1, 2, 3, 4]);
    assert.deepEqual(events.filter((e) => e.event === 'stage').map((e) => e.data.data.stage), ['train', 'evaluate']);
    const order = events.map((e) => e.event);
    assert.ok(order.indexOf('epoch') > order.indexOf('stage') && order.lastIndexOf('epoch') < order.lastIndexOf('stage'), order.join(','));

    // Reconnecting with Last-Event-ID gets only what came after.
    const resumed = await readStream(`${base}/v1/jobs/${job.id}/events`, { 'last-event-id': events[3].id! });
    assert.deepEqual(resumed.slice(0, -1).map((e) => e.id), events.slice(4).map((e) => e.id));

    // The same log as JSON pages.
    const first = await http(h.app).get(`/v1/jobs/${job.id}/events?limit=3`);
    assert.equal(first.status, 200);
    assert.equal(first.body.data.length, 3);
    assert.equal(first.body.hasMore, true);
    const rest = await http(h.app).get(`/v1/jobs/${job.id}/events?limit=100&after=${first.body.nextCursor}`);
    assert.deepEqual([...first.body.data, ...rest.body.data].map((e: { id: string }) => e.id), events.map((e) => e.id));
    assert.equal(rest.body.hasMore, false);
  });

  it('a stream opened before the job runs waits for it; bad ids and cursors are 4xx', async () => {
    const job = await submitJob(h.app, { type: 'pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 1, batchSize: 16 }, trainDatasetId: datasetId });
    const streamed = readStream(`${base}/v1/jobs/${job.id}/events`);
    await waitForJob(h.app, job.id, finished);
    const events = await streamed;
    assert.equal(events.at(-1)!.event, 'end');
    assert.equal(events.filter((e) => e.event === 'epoch').length, 1);

    const missing = await fetch(`${base}/v1/jobs/00000000-0000-4000-8000-000000000000/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${apiKey}` } });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'job_not_found');
    assert.equal((await http(h.app).get(`/v1/jobs/${job.id}/events?after=abc`)).status, 400);
    const badLast = await http(h.app).get(`/v1/jobs/${job.id}/events`).set('last-event-id', 'x');
    assert.equal(badLast.status, 400);
    assert.equal(badLast.body.error.code, 'invalid_cursor');
  });
});
