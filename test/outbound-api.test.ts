// The outbound checks as callers meet them: webhooks refused at submission or at
// send time, S3 sources outside the allowed buckets, and redirects not followed.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../apps/shared/config.ts';
import { DatasetService } from '../apps/api/src/services/datasets.ts';
import { ModelService } from '../apps/api/src/services/models.ts';
import type { RefusalReason } from '../apps/shared/net/outbound-url.ts';
import { Storage } from '../apps/shared/storage/s3-storage.ts';
import { ModelInspector } from '../apps/shared/ml/model-inspector.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';

const SECRET = 'whsec_test_0123456789abcdef';

async function waitForDelivery(h: Harness, jobId: string, done: (d: any) => boolean) {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    last = (await http(h.app).get(`/v1/jobs/${jobId}/webhook-deliveries`)).body.data?.[0];
    if (last && done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no such delivery in time; last seen ${JSON.stringify(last)}`);
}

const tiny = [{ type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }];

describe('outbound checks through the API (no allow-list)', () => {
  let h: Harness;
  let datasetId: string;
  let tcp: TcpServer;
  let connections = 0;

  before(async () => {
    // WEBHOOK_MAX_ATTEMPTS stays at its default (8): a refused address must fail at once anyway.
    h = await createHarness({ env: { WEBHOOK_POLL_MS: '100', WEBHOOK_RETRY_BASE_MS: '200' } });
    datasetId = (await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1], count: 50 })).id;
    tcp = createTcpServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await h?.close();
    tcp?.close();
  });

  it('POST /v1/jobs refuses webhooks to internal addresses with 422, before anything is written', async () => {
    const cases: Array<[string, RefusalReason]> = [
      ['http://127.0.0.1:8080/hook', 'address_not_allowed'],
      ['https://127.0.0.1/hook', 'address_not_allowed'],
      ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'address_not_allowed'],
      ['https://10.0.0.1/hook', 'address_not_allowed'],
      ['https://[::1]/hook', 'address_not_allowed'],
      ['https://[::ffff:169.254.169.254]/hook', 'address_not_allowed'],
      ['http://2130706433/hook', 'address_not_allowed'],
      ['http://0x7f.0.0.1/hook', 'address_not_allowed'],
      ['http://example.com/hook', 'scheme_not_allowed'],
      ['https://user:pw@example.com/hook', 'userinfo_not_allowed'],
    ];
    for (const [url, reason] of cases) {
      const res = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tiny, trainDatasetId: datasetId, webhook: { url, secret: SECRET } });
      assert.equal(res.status, 422, `${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'outbound_url_not_allowed');
      assert.equal(res.body.error.details.reason, reason, url);
      assert.ok(!res.body.error.details.url.includes('pw@'));
    }
    assert.equal(await h.db.job.count(), 0, 'no job row');
    assert.equal(await h.db.jobEvent.count(), 0, 'no job event');
    assert.deepEqual((await http(h.app).get('/v1/jobs')).body.data, []);
  });

  it('a name that resolves to loopback passes submission (no DNS then), is refused at send time, and fails at once', async () => {
    const port = (tcp.address() as AddressInfo).port;
    const url = `https://localhost:${port}/hook`;
    const job = (await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tiny, trainDatasetId: datasetId, webhook: { url, secret: SECRET } })).body;
    assert.ok(job.id, JSON.stringify(job));
    assert.equal((await http(h.app).post(`/v1/jobs/${job.id}/cancel`)).status, 202);
    const d = await waitForDelivery(h, job.id, (x) => x.status !== 'pending');
    assert.equal(d.status, 'failed');
    assert.equal(d.event, 'job.cancelled');
    assert.equal(d.attempts, 1, 'not retried');
    assert.equal(d.attemptLog.length, 1);
    assert.equal(d.attemptLog[0].error, 'address_not_allowed');
    assert.equal(d.attemptLog[0].statusCode, undefined);
    assert.equal(connections, 0, 'nothing connected to the loopback listener');
  });

  it('refuses dataset and model registrations from another bucket (422), reading and writing nothing', async () => {
    const otherBucket = 'some-other-bucket';
    const other = new Storage({ ...h.config.s3, bucket: otherBucket, endpoint: h.config.s3.endpoint! });
    try {
      await other.ensureBucket();
      await other.put('uploads/iris.csv', irisLikeCsv(), 'text/csv');
      const modelUri = await uploadTinyModel(other, 'uploads/tiny/');
      const datasetsBefore = await h.db.dataset.count();

      const ds = await http(h.app).post('/v1/datasets').send({ name: 'x', source: { type: 's3', uri: `s3://${otherBucket}/uploads/iris.csv`, format: 'csv', labelColumn: 'species' } });
      assert.equal(ds.status, 422, JSON.stringify(ds.body));
      assert.equal(ds.body.error.code, 'source_bucket_not_allowed');
      assert.deepEqual(ds.body.error.details, { bucket: otherBucket, allowed: [h.storage.bucket] });
      const model = await http(h.app).post('/v1/models').send({ name: 'x', uri: modelUri });
      assert.equal(model.status, 422, JSON.stringify(model.body));
      assert.equal(model.body.error.code, 'source_bucket_not_allowed');
      assert.equal(await h.db.dataset.count(), datasetsBefore);
      assert.equal(await h.db.model.count(), 0);
      assert.deepEqual(await h.storage.list('datasets/'), []);
      assert.deepEqual(await h.storage.list('models/'), []);

      const slash = await http(h.app).post('/v1/datasets').send({ name: 'x', source: { type: 's3', uri: `s3://${h.storage.bucket}/uploads\\..\\iris.csv`, format: 'csv', labelColumn: 'species' } });
      assert.equal(slash.status, 400);
      assert.equal(slash.body.error.code, 'invalid_s3_uri');

      // The objects were readable all along: with the bucket in S3_SOURCE_BUCKETS the same registrations succeed.
      const sourceBuckets = loadConfig({ S3_BUCKET: h.storage.bucket, S3_SOURCE_BUCKETS: otherBucket }).s3.sourceBuckets;
      const { dataset } = await new DatasetService({ db: h.db, storage: h.storage, limits: h.config.maxDatasetBytes, sourceBuckets, log: console }).create(h.tenant.tenantId, {
        name: 'shared iris',
        source: { type: 's3', uri: `s3://${otherBucket}/uploads/iris.csv`, format: 'csv', labelColumn: 'species' },
      });
      assert.equal(dataset.numExamples, 60);
      const registered = await new ModelService({ db: h.db, storage: h.storage, limits: h.config.maxModelParams, inspector: new ModelInspector(h.config.modelInspector), sourceBuckets, log: console }).register(h.tenant.tenantId, { name: 'shared tiny', uri: modelUri });
      assert.equal(registered.sourceUri, modelUri);
    } finally {
      other.destroy();
    }
  });
});

describe('webhook redirects (allow-listed receiver)', () => {
  let h: Harness;
  let redirector: Server;
  let target: Server;
  const hits = { redirector: 0, target: 0 };

  before(async () => {
    target = createServer((_req, res) => {
      hits.target++;
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    redirector = createServer((req, res) => {
      hits.redirector++;
      req.resume();
      res.statusCode = 302;
      res.setHeader('location', `http://127.0.0.1:${targetPort}/stolen`);
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const redirectorPort = (redirector.address() as AddressInfo).port;
    // Both are allowed: even an allowed target is not reached by a redirect.
    h = await createHarness({
      env: { WEBHOOK_POLL_MS: '100', WEBHOOK_MAX_ATTEMPTS: '1', OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${redirectorPort},127.0.0.1:${targetPort}` },
    });
  });
  after(async () => {
    await h?.close();
    redirector?.close();
    target?.close();
  });

  it('does not follow a 302: the attempt fails with statusCode 302 and the redirect target hears nothing', async () => {
    const dataset = await createDataset(h.app, 'digits', { type: 'mnist', classes: [0, 1], count: 50 });
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`;
    const res = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tiny, trainDatasetId: dataset.id, webhook: { url, secret: SECRET } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await http(h.app).post(`/v1/jobs/${res.body.id}/cancel`)).status, 202);
    const d = await waitForDelivery(h, res.body.id, (x) => x.status !== 'pending');
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts, 1);
    assert.equal(d.attemptLog[0].statusCode, 302);
    assert.equal(hits.redirector, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hits.target, 0, 'the redirect was not followed');

    // Another port on the same host is not on the list.
    const other = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tiny, trainDatasetId: dataset.id, webhook: { url: 'http://127.0.0.1:1/hook', secret: SECRET } });
    assert.equal(other.status, 422);
    assert.equal(other.body.error.details.reason, 'address_not_allowed');
  });
});
