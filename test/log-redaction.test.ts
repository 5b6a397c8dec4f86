// Secrets never reach a log line: API keys, the admin key, S3 credentials,
// webhook secrets, database passwords and signed-URL signatures. The API runs
// with its real logger options at trace level, writing into a buffer, and the
// test looks for every secret in what it wrote.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { createLogger, loggerOptions, scrubSecrets } from '../apps/shared/logger.ts';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { uploadTinyModel } from './helpers/fixtures.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const WEBHOOK_SECRET = 'whsec-do-not-log-0123456789';
const S3_SECRET = 's3-secret-do-not-log-abcdef';
const DB_PASSWORD = 'pg-password-do-not-log';

describe('secrets in logs', () => {
  let h: Harness;
  let app: App;
  const out = new Capture();
  before(async () => {
    h = await createHarness({ env: { LOG_LEVEL: 'trace', URL_SIGNING_SECRET: 'signing-secret-do-not-log-0123456789' } });
    app = await buildApp(h.config, { logger: { ...loggerOptions(h.config), stream: out } as never });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await h?.close();
  });

  function assertClean(text: string, secrets: string[]) {
    assert.ok(text.length > 0, 'something was logged');
    for (const s of secrets) assert.ok(!text.includes(s), `a log line holds a secret (${s.slice(0, 6)}…):\n${text.split('\n').filter((l) => l.includes(s)).join('\n')}`);
  }

  it('the API at trace level: keys, the admin key, webhook secrets and signed URLs stay out of its log', async () => {
    const key = h.tenant.apiKey;
    const api = (method: 'get' | 'post', url: string, k = key) => request(app.server)[method](url).set('authorization', `Bearer ${k}`);
    assert.equal((await api('get', '/v1/jobs')).status, 200);
    assert.equal((await api('get', '/v1/jobs', `${key}x`)).status, 401);
    const created = await api('post', '/v1/admin/tenants', TEST_ADMIN_KEY).send({ name: 'logged' });
    const newKey = (await api('post', `/v1/admin/tenants/${created.body.id}/keys`, TEST_ADMIN_KEY).send({ name: 'k' })).body.key as string;
    assert.match(newKey, /^ft_/);
    const model = (await api('post', '/v1/models').send({ name: 'm', uri: await uploadTinyModel(h.storage, `${h.uploads}logs/tiny/`) })).body.id;
    const dataset = (await api('post', '/v1/datasets').send({ name: 'd', source: { type: 'mnist', classes: [0, 1], count: 10 } })).body.id;
    // Refused (no outbound hosts allowed for http), after the body, secret included, was parsed.
    const job = await api('post', '/v1/jobs').set('idempotency-key', 'idem-do-not-log-1').send({ baseModelId: model, trainDatasetId: dataset, webhook: { url: 'http://127.0.0.1/hook', secret: WEBHOOK_SECRET } });
    assert.ok(job.status >= 400 && job.status < 500, String(job.status));
    const signed = (await api('post', `/v1/models/${model}/download-url`)).body.url as string;
    assert.equal((await request(app.server).get(signed)).status, 200);
    const signature = new URL(signed, 'http://x').searchParams.get('signature')!;

    // What code might log whole: a request with its headers, the config, a job row, an error quoting a query.
    app.log.info({ req: { headers: { authorization: `Bearer ${key}`, cookie: 'sid=1' } } }, 'headers');
    app.log.info({ config: { ...h.config, databaseUrl: `postgresql://u:${DB_PASSWORD}@db/x`, s3: { ...h.config.s3, secretAccessKey: S3_SECRET } } }, 'config');
    app.log.info({ job: { id: 'j', webhookSecret: WEBHOOK_SECRET }, body: { webhook: { url: 'https://x', secret: WEBHOOK_SECRET } } }, 'job');
    app.log.error({ err: new Error(`Invalid \`prisma.job.create()\` invocation:\n{ data: { webhookSecret: "${WEBHOOK_SECRET}", webhookUrl: "https://x" } } Authorization: Bearer ${newKey} postgresql://u:${DB_PASSWORD}@db`) }, 'failed');

    assertClean(out.text, [key, newKey, TEST_ADMIN_KEY, WEBHOOK_SECRET, S3_SECRET, DB_PASSWORD, signature, h.config.auth.urlSigningSecret!, 'idem-do-not-log-1']);
    assert.match(out.text, /\[redacted\]/);
    assert.match(out.text, /"url":"\/v1\/models\/[^"]+\/model\.json\?expires=\d+&signature=\[redacted\]"/, 'the request is still logged, signature scrubbed');
  });

  it('the worker\'s logger (createLogger) redacts the same', () => {
    const sink = new Capture();
    const log = createLogger({ ...h.config, logLevel: 'info' }, { role: 'worker' }, sink);
    log.info({ config: { s3: { secretAccessKey: S3_SECRET }, auth: { adminApiKey: TEST_ADMIN_KEY } } }, 'started');
    log.warn({ jobId: 'j', webhookSecret: WEBHOOK_SECRET }, 'job');
    log.error({ err: new Error(`S3 said: secretAccessKey='${S3_SECRET}'`) }, 'failed');
    assertClean(sink.text, [S3_SECRET, TEST_ADMIN_KEY, WEBHOOK_SECRET]);
    assert.equal(scrubSecrets('GET /v1/models/x/model.json?expires=1&signature=abc'), 'GET /v1/models/x/model.json?expires=1&signature=[redacted]');
  });
});
