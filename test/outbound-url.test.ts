// Server-side request forgery (OWASP API7): the service calls webhook URLs and
// reads S3 objects that callers name. Both are confined: webhooks to public
// https hosts (or the operator's allow-list), checked at submission and again,
// against DNS, at every send (outbound-send.test.ts), connecting only to the checked
// address; S3 sources to the service's own bucket and S3_SOURCE_BUCKETS.
// Through the API: outbound-api.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configToEnv, loadConfig } from '../apps/shared/config.ts';
import { AppError } from '../apps/shared/errors.ts';
import { blockedRange, checkS3Source, checkWebhookUrl } from '../apps/shared/net/outbound-url.ts';
import { OPEN, policy, refusal } from './helpers/outbound.ts';

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

});
