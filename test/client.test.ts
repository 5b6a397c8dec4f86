// The typed client's own behaviour against a real service on a port: paging
// under an operator's low MAX_PAGE_SIZE, the whole event log, and the admin
// routes. (The CLI's tests cover the rest of it, and streaming.)
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, FinetuneClient } from '../apps/client/index.ts';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { tinyMlp } from './helpers/api.ts';

const collect = async <T>(items: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
};

describe('typed client', () => {
  let h: Harness;
  let baseUrl: string;
  /** Every query string the client sent, in order. */
  const sent: URLSearchParams[] = [];
  let client: FinetuneClient;

  before(async () => {
    h = await createHarness({ env: { MAX_PAGE_SIZE: '2', MAX_EVENT_PAGE_SIZE: '2' } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const recording: typeof fetch = (input, init) => {
      sent.push(new URL(String(input)).searchParams);
      return fetch(input, init);
    };
    client = new FinetuneClient({ baseUrl, apiKey: h.tenant.apiKey, fetch: recording });
  });
  after(() => h?.close());

  it('all() walks every page, and asks again at the page size the service allows when `limit` is over it', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await client.datasets.create({ name: `d${i}`, source: { type: 'mnist', classes: [0, 1], count: 10 } }));
    sent.length = 0;
    const got = await collect(client.datasets.all({ limit: 100 }));
    assert.deepEqual(got.map((d) => d.id).sort(), made.map((d) => d.id).sort());
    assert.deepEqual(sent.map((q) => q.get('limit')), ['100', '2', '2', '2'], 'refused once at 100, then pages of 2');
    assert.deepEqual(sent.map((q) => q.get('after') !== null), [false, false, true, true]);
    // A limit the service refuses for another reason stays an error.
    await assert.rejects(collect(client.datasets.all({ limit: 0 })), (err: unknown) => err instanceof ApiError && err.status === 400 && err.code !== 'page_size_exceeded');
  });

  it('allEvents() reads the whole log across pages, in order', async () => {
    const [ds] = await collect(client.datasets.all());
    const job = await client.jobs.create({ type: 'pretrain', architecture: tinyMlp(2) as never, trainDatasetId: ds.id });
    await client.jobs.cancel(job.id);
    sent.length = 0;
    const events = await collect(client.jobs.allEvents(job.id, { limit: 1 }));
    assert.ok(events.length >= 2 && sent.length === events.length, `${events.length} events in ${sent.length} pages`);
    assert.equal(events.length, await h.db.jobEvent.count({ where: { jobId: job.id } }));
    assert.deepEqual(events.map((e) => BigInt(e.id)), events.map((e) => BigInt(e.id)).sort((a, b) => (a < b ? -1 : 1)));
    assert.equal(events.at(-1)?.data.status, 'cancelled');
  });

  it('admin: a tenant and a key that works until it is revoked', async () => {
    const admin = new FinetuneClient({ baseUrl, apiKey: TEST_ADMIN_KEY });
    const tenant = await admin.admin.tenants.create({ name: 'client test' });
    assert.ok((await admin.admin.tenants.list()).data.some((t) => t.id === tenant.id));
    const key = await admin.admin.keys.create(tenant.id, { name: 'ci' });
    const theirs = new FinetuneClient({ baseUrl, apiKey: key.key });
    assert.deepEqual((await theirs.datasets.list()).data, [], 'a new tenant sees none of the others\' data');
    assert.deepEqual((await admin.admin.keys.list(tenant.id)).data.map((k) => k.id), [key.id]);
    assert.ok((await admin.admin.keys.revoke(key.id)).revokedAt);
    await assert.rejects(theirs.datasets.list(), (err: unknown) => err instanceof ApiError && err.status === 401);
    await assert.rejects(client.admin.tenants.list(), (err: unknown) => err instanceof ApiError && err.status === 403 && err.code === 'admin_only');
  });
});
