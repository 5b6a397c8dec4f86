// Server-side request forgery (OWASP API7): the service calls webhook URLs and
// reads S3 objects that callers name. Both are confined: webhooks to public
// https hosts (or the operator's allow-list), checked at submission and again,
// against DNS, at every send, connecting only to the checked address; S3
// sources to the service's own bucket and S3_SOURCE_BUCKETS.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configToEnv, loadConfig } from '../apps/shared/config.ts';
import { AppError } from '../apps/shared/errors.ts';
import { DatasetService } from '../apps/api/src/services/datasets.ts';
import { ModelService } from '../apps/api/src/services/models.ts';
import {
  blockedRange,
  checkS3Source,
  checkWebhookUrl,
  OutboundUrlError,
  postToTarget,
  resolveAndCheck,
  type OutboundPolicy,
  type RefusalReason,
} from '../apps/shared/net/outbound-url.ts';
import { Storage } from '../apps/shared/storage/s3-storage.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { ModelInspector } from '../apps/shared/ml/model-inspector.ts';

const OPEN: OutboundPolicy = { allowedHosts: [] };
const SECRET = 'whsec_test_0123456789abcdef';

function refusal(fn: () => unknown, reason: RefusalReason, range?: string) {
  return assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OutboundUrlError, String(err));
    assert.equal(err.statusCode, 422);
    assert.equal(err.code, 'outbound_url_not_allowed');
    assert.equal(err.reason, reason);
    assert.equal((err.details as { reason: string }).reason, reason);
    if (range) assert.equal((err.details as { range: string }).range, range);
    return true;
  });
}

const policy = (hosts: string) => loadConfig({ OUTBOUND_ALLOWED_HOSTS: hosts }).webhooks;
const fakeDns = (...addresses: string[]) => async (): Promise<LookupAddress[]> => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('outbound URL checks', () => {
  it('refuses literal addresses in every blocked range, and accepts public ones beside them', () => {
    const blocked: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link_local'],
      ['100.64.0.1', 'shared'],
      ['100.127.255.255', 'shared'],
      ['0.0.0.0', 'this_network'],
      ['0.1.2.3', 'this_network'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['[::1]', 'loopback'],
      ['[::]', 'unspecified'],
      ['[fe80::1]', 'link_local'],
      ['[febf:ffff::1]', 'link_local'],
      ['[fc00::1]', 'unique_local'],
      ['[fd12:3456::1]', 'unique_local'],
      ['[ff02::1]', 'multicast'],
      // IPv4-mapped IPv6, dotted and hex: the IPv4 address inside decides.
      ['[::ffff:127.0.0.1]', 'loopback'],
      ['[::ffff:7f00:1]', 'loopback'],
      ['[::ffff:169.254.169.254]', 'link_local'],
      ['[::ffff:10.0.0.1]', 'private'],
      ['[0:0:0:0:0:ffff:c0a8:101]', 'private'],
      // NAT64 and 6to4 carry an IPv4 address too.
      ['[64:ff9b::a9fe:a9fe]', 'link_local'],
      ['[2002:a00:1::]', 'private'],
    ];
    for (const [host, range] of blocked) {
      refusal(() => checkWebhookUrl(`https://${host}/hook`, OPEN), 'address_not_allowed', range);
    }
    const publicHosts = ['8.8.8.8', '11.0.0.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '169.253.255.255', '192.169.0.1', '[2606:4700:4700::1111]', '[::ffff:8.8.8.8]', '[64:ff9b::808:808]'];
    for (const host of publicHosts) {
      assert.equal(checkWebhookUrl(`https://${host}/hook`, OPEN).protocol, 'https:', host);
    }
    assert.equal(blockedRange('fe80::1%eth0'), 'link_local', 'a zone id does not hide the address');
    assert.equal(blockedRange('example.com'), undefined);
  });

  it('sees through decimal, octal and hex IPv4 spellings, which WHATWG URL normalises', () => {
    for (const url of [
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://017700000001/',
      'http://127.1/',
      'https://0x7f.0.0.1./',
    ]) {
      refusal(() => checkWebhookUrl(url, OPEN), 'address_not_allowed', 'loopback');
    }
    refusal(() => checkWebhookUrl('https://0xa9.0xfe.0xa9.0xfe/latest/meta-data/', OPEN), 'address_not_allowed', 'link_local');
    refusal(() => checkWebhookUrl('https://3232235777/', OPEN), 'address_not_allowed', 'private');
    // The error shows the address as it was understood.
    assert.throws(() => checkWebhookUrl('http://2130706433/x', OPEN), (e: AppError) => (e.details as { url: string }).url === 'http://127.0.0.1/x');
  });

  it('wants https (http only to allow-listed hosts), a parseable URL and no credentials', () => {
    assert.equal(checkWebhookUrl('https://hooks.example.com/x?y=1', OPEN).hostname, 'hooks.example.com');
    refusal(() => checkWebhookUrl('http://example.com/hook', OPEN), 'scheme_not_allowed');
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://example.com/', 'javascript:alert(1)', 'data:text/plain,x']) {
      refusal(() => checkWebhookUrl(url, OPEN), 'scheme_not_allowed');
    }
    for (const url of ['not a url', 'https://', 'https://exa mple.com/', 'https://[::1/']) refusal(() => checkWebhookUrl(url, OPEN), 'invalid_url');
    for (const url of ['https://user:pass@example.com/hook', 'https://user@example.com/hook', 'https://:pass@example.com/']) {
      refusal(() => checkWebhookUrl(url, OPEN), 'userinfo_not_allowed');
    }
  });

  it('never echoes credentials, the query or the fragment', () => {
    assert.throws(
      () => checkWebhookUrl('https://10.0.0.1/hook?token=s3cret#frag', OPEN),
      (e: AppError) => (e.details as { url: string }).url === 'https://10.0.0.1/hook' && !JSON.stringify(e).includes('s3cret'),
    );
    assert.throws(
      () => checkWebhookUrl('https://admin:hunter2@example.com/hook', OPEN),
      (e: AppError) => (e.details as { url: string }).url === 'https://example.com/hook' && !JSON.stringify(e.details).includes('hunter2'),
    );
    assert.throws(
      () => checkWebhookUrl('https://admin:hunter2@exa mple.com/?token=s3cret', OPEN),
      (e: AppError) => !JSON.stringify(e.details).includes('hunter2') && !JSON.stringify(e.details).includes('s3cret'),
    );
  });

  it('matches OUTBOUND_ALLOWED_HOSTS: exact hosts, host:port, *.domain', () => {
    const p = policy('Hooks.Example.com, *.example.org, 127.0.0.1:8080, internal.corp:8443');
    assert.deepEqual(p.allowedHosts, ['hooks.example.com', '*.example.org', '127.0.0.1:8080', 'internal.corp:8443']);
    for (const ok of [
      'https://hooks.example.com/x',
      'HTTPS://HOOKS.EXAMPLE.COM./x',
      'http://hooks.example.com/x', // allow-listed: http allowed
      'https://a.example.org/x',
      'https://a.b.example.org:9000/x',
      'http://a.example.org/x',
      'http://127.0.0.1:8080/x', // listed exactly: a private address the operator vouches for
      'http://2130706433:8080/x', // the same host, spelled otherwise
      'https://internal.corp:8443/x',
    ]) {
      assert.doesNotThrow(() => checkWebhookUrl(ok, p), ok);
    }
    for (const bad of ['https://other.example.com/x', 'https://example.org/x', 'https://evilexample.org/x', 'https://example.org.evil.com/x', 'https://internal.corp/x', 'https://8.8.8.8/x']) {
      refusal(() => checkWebhookUrl(bad, p), 'host_not_allowed');
    }
    // The port is part of an entry: 127.0.0.1 on another port is just a loopback address.
    refusal(() => checkWebhookUrl('http://127.0.0.1:8081/x', p), 'address_not_allowed', 'loopback');
    refusal(() => checkWebhookUrl('http://127.0.0.1/x', p), 'address_not_allowed', 'loopback');
    refusal(() => checkWebhookUrl('https://user:pw@hooks.example.com/x', p), 'userinfo_not_allowed');
    // A wildcard never vouches for literal addresses.
    refusal(() => checkWebhookUrl('https://10.0.0.1/x', policy('*.0.0.1')), 'address_not_allowed', 'private');
    // An allow-listed IPv6 host, compressed however it is written.
    assert.doesNotThrow(() => checkWebhookUrl('http://[0:0::1]:9000/x', policy('[::1]:9000')));
  });

  it('reads the two new settings, refuses bad values, and hands them to child processes', () => {
    for (const bad of ['http://x.com', 'a/b', 'user@x', '::1', 'x:99999', '*', 'a b']) {
      assert.throws(() => loadConfig({ OUTBOUND_ALLOWED_HOSTS: bad }), /OUTBOUND_ALLOWED_HOSTS/, bad);
    }
    assert.throws(() => loadConfig({ S3_SOURCE_BUCKETS: 'ok-bucket,Not_A_Bucket' }), /S3_SOURCE_BUCKETS/);
    const defaults = loadConfig({});
    assert.deepEqual(defaults.webhooks.allowedHosts, []);
    assert.deepEqual(defaults.s3.sourceBuckets, ['finetune']);
    const c = loadConfig({ S3_BUCKET: 'ours', S3_SOURCE_BUCKETS: ' shared-data , ours,', OUTBOUND_ALLOWED_HOSTS: '*.Example.com:8443,[0::1]' });
    assert.deepEqual(c.s3.sourceBuckets, ['ours', 'shared-data']);
    assert.deepEqual(c.webhooks.allowedHosts, ['*.example.com:8443', '[::1]']);
    const again = loadConfig(configToEnv(c) as Record<string, string>);
    assert.deepEqual(again.s3.sourceBuckets, c.s3.sourceBuckets);
    assert.deepEqual(again.webhooks.allowedHosts, c.webhooks.allowedHosts);
  });

  it("confines S3 sources to the tenant's upload area in our bucket and to S3_SOURCE_BUCKETS, and keys to plain paths", () => {
    const s3 = loadConfig({ S3_BUCKET: 'ours', S3_SOURCE_BUCKETS: 'shared-data' }).s3;
    const tenant = '6f1c0a4e-1b2d-4c3e-8f9a-0b1c2d3e4f5a';
    const area = `uploads/${tenant}/`;
    assert.deepEqual(checkS3Source(`s3://ours/${area}a.csv`, s3, tenant), { bucket: 'ours', key: `${area}a.csv` });
    assert.deepEqual(checkS3Source('s3://shared-data/x/model.json', s3, tenant), { bucket: 'shared-data', key: 'x/model.json' });
    assert.throws(() => checkS3Source('s3://some-other-bucket/uploads/a.csv', s3, tenant), (e: AppError) => {
      assert.equal(e.statusCode, 422);
      assert.equal(e.code, 'source_bucket_not_allowed');
      assert.deepEqual(e.details, { bucket: 'some-other-bucket', allowed: ['ours', 'shared-data'] });
      assert.match(e.message, /ours, shared-data/);
      return true;
    });
    // Our bucket outside the area: the service's own prefixes, the area's root, another tenant's area.
    const outside = ['models/x/model.json', 'datasets/x/data.csv', 'jobs/x/checkpoints/epoch-1/model.json', 'cache/features/x/y', 'uploads/a.csv', area, 'uploads/00000000-0000-4000-8000-000000000000/a.csv', `uploads/${tenant}x/a.csv`, `x/${area}a.csv`];
    for (const key of outside) {
      assert.throws(() => checkS3Source(`s3://ours/${key}`, s3, tenant), (e: AppError) => {
        assert.equal(e.statusCode, 422, key);
        assert.equal(e.code, 'source_key_not_allowed', key);
        assert.deepEqual(e.details, { allowed: [`s3://ours/${area}`, 's3://shared-data/'] });
        return true;
      });
    }
    const bad = [`s3://ours/${area}../secret.csv`, 's3://ours/../x', 's3://ours/./x', `s3://ours/${area}..\\x.csv`, 's3://ours/a\u0000b', 's3://ours/a\tb', 's3://ours/a\u001fb', 's3://ours/a\u007fb', 's3://ours/a\nb', 'https://ours/a.csv', 's3://ours'];
    for (const uri of bad) {
      assert.throws(() => checkS3Source(uri, s3, tenant), (e: AppError) => e.statusCode === 400 && e.code === 'invalid_s3_uri', JSON.stringify(uri));
    }
    // Without S3_SOURCE_BUCKETS: our bucket only.
    assert.throws(() => checkS3Source('s3://shared-data/x', { bucket: 'ours', sourceBuckets: [] }, tenant), (e: AppError) => e.code === 'source_bucket_not_allowed');
  });

  it('at send time, refuses a name that resolves to a blocked address: localhost, really resolved', async () => {
    await assert.rejects(resolveAndCheck('https://localhost/hook', OPEN), (e: OutboundUrlError) => {
      assert.ok(e instanceof OutboundUrlError);
      assert.equal(e.reason, 'address_not_allowed');
      assert.equal((e.details as { range: string }).range, 'loopback');
      return true;
    });
    // Listed exactly, the operator vouches for it.
    const target = await resolveAndCheck('http://localhost:8080/hook', policy('localhost:8080'));
    assert.ok(target.addresses.length > 0 && target.addresses.every((a) => blockedRange(a.address) === 'loopback'));
  });

  it('at send time, one blocked address among many refuses the lot; a wildcard does not vouch for addresses', async () => {
    const resolve = fakeDns('93.184.215.14', '127.0.0.1');
    await assert.rejects(resolveAndCheck('https://rebind.example.net/', OPEN, { resolve }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    await assert.rejects(resolveAndCheck('https://x.example.net/', OPEN, { resolve: fakeDns('2606:4700::1', '::ffff:169.254.169.254') }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    await assert.rejects(resolveAndCheck('https://x.example.net/', policy('*.example.net'), { resolve: fakeDns('10.1.2.3') }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    const ok = await resolveAndCheck('https://x.example.net/', policy('x.example.net'), { resolve: fakeDns('10.1.2.3') });
    assert.deepEqual(ok.addresses, [{ address: '10.1.2.3', family: 4 }]);
    const pub = await resolveAndCheck('https://x.example.net/', OPEN, { resolve: fakeDns('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c') });
    assert.equal(pub.addresses.length, 2);
    // The URL checks run again: the policy may have changed since the job was submitted.
    await assert.rejects(resolveAndCheck('http://x.example.net/', OPEN, { resolve }), (e: OutboundUrlError) => e.reason === 'scheme_not_allowed');
    // A DNS failure is not a refusal: the dispatcher retries it.
    const failing = async (): Promise<LookupAddress[]> => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN x.example.net'), { code: 'EAI_AGAIN' });
    };
    await assert.rejects(resolveAndCheck('https://x.example.net/', OPEN, { resolve: failing }), (e: Error) => !(e instanceof OutboundUrlError) && /EAI_AGAIN/.test(e.message));
  });

  it('connects to the address it checked, without asking DNS again', async () => {
    const seen: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      seen.push(req);
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      let lookups = 0;
      // .invalid never resolves for real: only the checked answer can get the request there.
      const target = await resolveAndCheck(`http://hooks.invalid:${port}/x`, policy(`hooks.invalid:${port}`), {
        resolve: async () => {
          lookups++;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      });
      const status = await postToTarget(target, { 'content-type': 'application/json' }, '{}', AbortSignal.timeout(5000));
      assert.equal(status, 204);
      assert.equal(lookups, 1);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].headers.host, `hooks.invalid:${port}`);
    } finally {
      server.close();
    }
  });

  it('gives up on a receiver that never answers when the signal fires', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const target = await resolveAndCheck(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, policy('127.0.0.1'));
      const started = Date.now();
      const signal = AbortSignal.timeout(200);
      await assert.rejects(postToTarget(target, {}, '{}', signal));
      assert.ok(signal.aborted && Date.now() - started < 2000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

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
