// A job that names a webhook is POSTed to it when it ends: signed with an HMAC
// over the timestamp and body, retried with backoff when the receiver fails,
// and every attempt recorded.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verifyWebhook } from '../apps/shared/webhooks/signature.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

const SECRET = 'whsec_test_0123456789abcdef';

describe('webhooks', () => {
  let h: Harness;
  let receiver: Server;
  let url: string;
  const received: Received[] = [];
  let failFirst = 1;

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body, at: Date.now() });
        res.statusCode = failFirst-- > 0 ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/finetune`;
    h = await createHarness({ worker: true, env: { WEBHOOK_POLL_MS: '100', WEBHOOK_RETRY_BASE_MS: '300', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } });
  });
  after(async () => {
    await h?.close();
    receiver?.close();
  });

  it('POSTs the finished job, signed; a failed delivery is retried with backoff and every attempt recorded', async () => {
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1, 2], count: 300 });
    const job = await submitJob(h.app, {
      type: 'pretrain',
      architecture: tinyMlp(3),
      hyperparameters: { epochs: 1 },
      trainDatasetId: dataset.id,
      webhook: { url, secret: SECRET },
    });
    const shown = (await http(h.app).get(`/v1/jobs/${job.id}`)).body;
    assert.deepEqual(shown.webhook, { url });
    assert.ok(!JSON.stringify(shown).includes(SECRET), 'the secret is never shown');
    const done = await waitForJob(h.app, job.id, finished);
    assert.equal(done.status, 'succeeded');

    const deadline = Date.now() + 30_000;
    let deliveries;
    while (Date.now() < deadline) {
      deliveries = (await http(h.app).get(`/v1/jobs/${job.id}/webhook-deliveries`)).body.data;
      if (deliveries[0]?.status === 'delivered') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(deliveries.length, 1);
    const d = deliveries[0];
    assert.equal(d.status, 'delivered');
    assert.equal(d.event, 'job.succeeded');
    assert.equal(d.attempts, 2);
    assert.deepEqual(d.attemptLog.map((a: { statusCode: number }) => a.statusCode), [503, 204]);

    assert.equal(received.length, 2, 'one retry, then nothing more');
    assert.ok(received[1].at - received[0].at >= 250, 'the retry waited for its backoff');
    for (const r of received) {
      const signature = String(r.headers['webhook-signature']);
      assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.ok(verifyWebhook(SECRET, signature, r.body), 'the signature verifies with the job\'s secret');
      assert.ok(!verifyWebhook('another-secret-0123456789', signature, r.body));
      assert.ok(!verifyWebhook(SECRET, signature, r.body.replace('succeeded', 'failed')), 'a tampered body fails');
      assert.equal(r.headers['webhook-id'], d.id);
      const payload = JSON.parse(r.body);
      assert.equal(payload.event, 'job.succeeded');
      assert.equal(payload.job.id, job.id);
      assert.equal(payload.job.status, 'succeeded');
      assert.ok(payload.job.outputModelId);
    }
    // An old signature is refused: the timestamp bounds replays.
    const old = String(received[0].headers['webhook-signature']);
    assert.ok(!verifyWebhook(SECRET, old, received[0].body, 300, Date.now() + 10 * 60_000));
  });

  it('refuses a webhook without a secret or with a non-http URL', async () => {
    const dataset = await createDataset(h.app, 'digits 2', { type: 'mnist', classes: [0, 1], count: 100 });
    for (const webhook of [{ url }, { url: 'ftp://example.com/x', secret: SECRET }, { url, secret: 'short' }]) {
      const res = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(2), trainDatasetId: dataset.id, webhook });
      assert.equal(res.status, 400, JSON.stringify(webhook));
      assert.equal(res.body.error.code, 'validation_failed');
    }
  });
});
