// The BullMQ dashboard under /admin/queues: the admin key only (Bearer, or
// Basic auth for a browser), read-only, and no changes from other sites.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('queue dashboard', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h?.close());

  it('refuses callers without the admin key', async () => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
      const none = await http(h.app, '').get(url);
      assert.equal(none.status, 401, url);
      assert.match(none.headers['www-authenticate'], /^Basic realm=/);
      assert.equal(none.body.error.code, 'unauthorized');
      assert.equal((await http(h.app).get(url)).status, 401, 'a tenant key is not the admin key');
      const wrong = await request(h.app.server).get(url).set('authorization', basic('admin', 'not-the-admin-key-0123456789'));
      assert.equal(wrong.status, 401);
    }
  });

  it('opens with the admin key as a Bearer token or as a Basic password', async () => {
    const page = await http(h.app, TEST_ADMIN_KEY).get('/admin/queues');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    assert.match(page.text, /<div id="root">/);
    assert.match(page.text, /<base href="\/admin\/queues\/"/);
    assert.match(page.headers['content-security-policy'], /script-src|default-src 'self'/);

    const queues = await request(h.app.server).get('/admin/queues/api/queues').set('authorization', basic('admin', TEST_ADMIN_KEY));
    assert.equal(queues.status, 200, queues.text);
    const names = queues.body.queues.map((q: { name: string }) => q.name);
    assert.deepEqual(names, [h.config.queueName]);
    assert.equal(queues.body.queues[0].readOnlyMode, true);

    const script = /src="(static\/js\/main[^"]+)"/.exec(page.text)?.[1];
    assert.ok(script, 'the page loads its script');
    const asset = await http(h.app, TEST_ADMIN_KEY).get(`/admin/queues/${script}`);
    assert.equal(asset.status, 200);
    assert.equal((await http(h.app, '').get(`/admin/queues/${script}`)).status, 401, 'its assets need the key too');
  });

  it('is read-only, and refuses changes from another origin', async () => {
    const url = `/admin/queues/api/queues/${encodeURIComponent(h.config.queueName)}/pause`;
    const crossSite = await http(h.app, TEST_ADMIN_KEY).put(url).set('origin', 'https://evil.example').send({});
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.body.error.code, 'cross_site_request');
    const fetchMeta = await http(h.app, TEST_ADMIN_KEY).put(url).set('sec-fetch-site', 'cross-site').send({});
    assert.equal(fetchMeta.status, 403);
    const sameSite = await http(h.app, TEST_ADMIN_KEY).put(url).send({});
    assert.equal(sameSite.status, 405, 'the board is read-only');
    assert.equal(await h.app.queue.isPaused(), false);
  });
});
