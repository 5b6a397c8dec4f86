// The OpenAPI document against the running API: every registered route is in
// it, every operation says who may call it, what it answers and which error
// codes it gives, with an example request; and real responses (successes and
// errors) validate against the documented schemas, so a response that drifts
// from its documentation fails here.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { finished, followDataset, http, waitForJob } from './helpers/api.ts';
import { solid } from './helpers/images.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { ERROR_CODES, type ErrorCodeDoc } from '../apps/api/src/schemas/errors.ts';

const addFormats = formats as unknown as typeof formats.default;

type Json = Record<string, any>;
type Method = 'get' | 'post' | 'delete' | 'put' | 'patch';

interface Call {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** Raw body text, sent with `contentType`. */
  raw?: string;
  contentType?: string;
  /** The key to send; '' sends none. Default: the tenant's. */
  key?: string;
  headers?: Record<string, string>;
}

const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

describe('OpenAPI document', () => {
  let h: Harness;
  let doc: Json;
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  const validators = new Map<string, ValidateFunction>();
  /** METHOD path of every operation that answered a 2xx which validated. */
  const exercised = new Set<string>();
  const ids: Record<string, string> = {};

  // Component refs point into the document; Ajv finds them under one schema id.
  const local = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/'));
  function validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let v = validators.get(key);
    if (!v) validators.set(key, (v = ajv.compile(local(schema))));
    return v;
  }

  function operation(method: string, template: string): Json {
    const op = doc.paths[template]?.[method];
    assert.ok(op, `${method.toUpperCase()} ${template} is not in the document`);
    return op;
  }

  /** Checks a real response against what the document says the operation answers. */
  function conform(method: string, template: string, res: { status: number; headers: Record<string, string>; body: unknown; text?: string }) {
    const where = `${method.toUpperCase()} ${template} ${res.status}`;
    const documented = operation(method, template).responses[String(res.status)];
    assert.ok(documented, `${where}: the status is not documented`);
    const type = String(res.headers['content-type'] ?? '').split(';')[0];
    if (!documented.content) {
      assert.ok(!res.text, `${where}: documented without a body, yet answered one`);
    } else {
      const media = documented.content[type];
      assert.ok(media, `${where}: answered ${type}; documented ${Object.keys(documented.content).join(', ')}`);
      if (type === 'application/json') {
        const validate = validator(media.schema);
        assert.ok(validate(res.body), `${where}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 1000)}`);
        const code = (res.body as { error?: { code?: string } }).error?.code;
        if (res.status >= 400 && code !== undefined) {
          const codes = Object.keys(media.examples ?? {});
          assert.ok(codes.includes(code), `${where}: gave ${code}; documented ${codes.join(', ')}`);
        }
      }
    }
    if (res.status < 300) exercised.add(`${method.toUpperCase()} ${template}`);
  }

  async function call(method: Method, template: string, status: number | '2xx', o: Call = {}) {
    const url = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(o.params?.[name] ?? ids[name] ?? 'missing'));
    const qs = o.query ? `?${new URLSearchParams(o.query)}` : '';
    let req = http(h.app, o.key ?? h.tenant.apiKey)[method](url + qs);
    for (const [k, v] of Object.entries(o.headers ?? {})) req = req.set(k, v);
    if (o.raw !== undefined) req = req.set('content-type', o.contentType ?? 'application/json').send(o.raw);
    else if (o.body !== undefined) req = req.send(o.body as object);
    const res = await req;
    if (status === '2xx') assert.ok(res.status >= 200 && res.status < 300, `${method.toUpperCase()} ${url}: ${res.status} ${res.text?.slice(0, 500)}`);
    else assert.equal(res.status, status, `${method.toUpperCase()} ${url}: ${res.text?.slice(0, 500)}`);
    conform(method, template, res);
    return res;
  }

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([template, item]) =>
      Object.entries(item).map(([method, op]) => ({ method, template, op })),
    );
  const pathExamples = (op: Json) => Object.fromEntries((op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => [p.name, String(p.example)]));

  // Receives the finished job's webhook, so that its delivery record is real too.
  let receiver: Server;
  let webhookUrl: string;

  before(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    h = await createHarness({
      env: { BODY_LIMIT_BYTES: '65536', MAX_QUEUED_JOBS_PER_TENANT: '2', WEBHOOK_POLL_MS: '100', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' },
    });
    const res = await http(h.app, '').get('/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
    ajv.addSchema({ $id: 'openapi.json', $defs: local(doc.components.schemas) });
  });
  after(async () => {
    await h?.close();
    receiver?.close();
  });

  it('has every registered route, with its method; only non-API routes are hidden', () => {
    const routes = h.app.registeredRoutes;
    assert.ok(routes.length > 20, 'routes were recorded');
    const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
    const missing: string[] = [];
    for (const r of routes) {
      if (r.method === 'HEAD' && gets.has(r.url)) continue; // fastify's automatic HEAD for a GET
      if (r.hidden) {
        assert.ok(!r.url.startsWith('/v1/'), `${r.method} ${r.url} is a JSON API route, so it may not be hidden`);
        continue;
      }
      if (!doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()]) missing.push(`${r.method} ${r.url}`);
    }
    assert.deepEqual(missing, []);
    const hidden = routes.filter((r) => r.hidden).map((r) => r.url);
    assert.ok(hidden.includes('/docs/static/*'), 'the Swagger UI assets are registered, hidden');
  });

  it('describes every operation: summary, description, tags, keys, responses, error codes and an example request', () => {
    const tagNames = new Set((doc.tags as Json[]).map((t) => t.name));
    const schemes = doc.components.securitySchemes as Json;
    const operationIds = operations().map(({ op }) => op.operationId);
    assert.ok(operationIds.every(Boolean), 'every operation has an operationId');
    assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique');
    for (const { method, template, op } of operations()) {
      const where = `${method.toUpperCase()} ${template}`;
      assert.ok(op.summary, `${where}: summary`);
      assert.ok(op.description, `${where}: description`);
      assert.ok(op.tags?.length && op.tags.every((t: string) => tagNames.has(t)), `${where}: tags ${op.tags}`);
      assert.ok(Array.isArray(op.security), `${where}: security (the key it needs, or [] for none)`);
      for (const requirement of op.security) for (const name of Object.keys(requirement)) assert.ok(schemes[name], `${where}: unknown scheme ${name}`);
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.some((s) => s.startsWith('2')), `${where}: a success response`);
      assert.ok(statuses.includes('500'), `${where}: 500`);
      if (op.security.length) assert.ok(statuses.includes('401') && statuses.includes('403'), `${where}: 401 and 403`);
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        assert.ok(response.description && response.description !== 'Default Response', `${where} ${status}: description`);
        for (const media of Object.values((response.content ?? {}) as Record<string, Json>)) validator(media.schema);
        const media = response.content?.['application/json'];
        if (Number(status) < 400 || media?.schema?.$ref !== '#/components/schemas/Error') continue;
        const codes = Object.keys(media.examples ?? {});
        assert.ok(codes.length > 0, `${where} ${status}: lists its error codes`);
        for (const code of codes) {
          const known = (ERROR_CODES as Record<string, ErrorCodeDoc>)[code];
          assert.ok(known?.statuses.includes(Number(status)), `${where} ${status}: ${code} is not a ${status} in the catalogue`);
          assert.equal(media.examples[code].value.error.code, code);
          assert.ok(validator(media.schema)(media.examples[code].value), `${where} ${status}: the ${code} example fits the Error schema`);
        }
      }
      const samples = op['x-codeSamples'] as Json[] | undefined;
      assert.ok(samples?.some((s) => String(s.source).startsWith('curl')), `${where}: a curl example`);
      for (const p of (op.parameters ?? []).filter((p: Json) => p.in === 'path')) {
        assert.ok(p.example !== undefined, `${where}: an example for path parameter ${p.name}`);
        assert.ok(validator(p.schema)(p.example), `${where}: the example for ${p.name} fits its schema`);
      }
      if (op.requestBody) {
        const media = op.requestBody.content['application/json'];
        const examples = media.example !== undefined ? [media.example] : Object.values(media.examples ?? {}).map((e) => (e as Json).value);
        assert.ok(examples.length > 0, `${where}: an example body`);
        const validate = validator(media.schema);
        for (const example of examples) assert.ok(validate(example), `${where}: example body ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  });

  it('lists the whole error catalogue in info.description', () => {
    for (const code of Object.keys(ERROR_CODES)) assert.ok(String(doc.info.description).includes(`\`${code}\``), `${code} in info.description`);
  });

  it('serves /docs as a page with its own assets, and /openapi.json as OpenAPI 3.1, without a key', async () => {
    const page = await http(h.app, '').get('/docs');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /<div id="swagger-ui">/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    for (const [asset, type] of [['/docs/static/swagger-ui-bundle.js', /javascript/], ['/docs/static/swagger-initializer.js', /javascript/], ['/docs/static/swagger-ui.css', /text\/css/]] as const) {
      const res = await http(h.app, '').get(asset);
      assert.equal(res.status, 200, asset);
      assert.match(String(res.headers['content-type']), type, asset);
    }
    const viaUi = await http(h.app, '').get('/docs/json');
    assert.equal(viaUi.status, 200);
    assert.equal(viaUi.body.openapi, doc.openapi);

    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.info.title && doc.info.version);
    assert.ok(Object.keys(doc.paths).length >= 20);
    for (const name of ['Error', 'Job', 'Dataset', 'Model', 'EpochMetric', 'ApiKey']) assert.ok(doc.components.schemas[name], name);
    assert.deepEqual(
      Object.fromEntries(Object.entries(doc.components.securitySchemes as Record<string, Json>).map(([k, v]) => [k, v.scheme ?? v.in])),
      { tenantKey: 'bearer', adminKey: 'bearer', signedUrl: 'query' },
    );
    // Every $ref resolves; every component is a valid JSON Schema 2020-12 (Ajv checks it against the meta-schema).
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const target = ref.slice(8, -1);
      assert.match(target, /^#\/components\/schemas\/\w+$/, ref);
      assert.ok(doc.components.schemas[target.split('/').pop()!], `${ref} resolves`);
    }
    for (const name of Object.keys(doc.components.schemas)) assert.ok(ajv.getSchema(`openapi.json#/$defs/${name}`), name);
    // Public, tenant and admin operations, as the routes' auth says.
    assert.deepEqual(operation('get', '/healthz').security, []);
    assert.deepEqual(operation('get', '/openapi.json').security, []);
    assert.deepEqual(operation('get', '/v1/jobs').security, [{ tenantKey: [] }]);
    assert.deepEqual(operation('get', '/v1/admin/tenants').security, [{ adminKey: [] }]);
    assert.deepEqual(operation('get', '/v1/models/{id}/{file}').security, [{ tenantKey: [] }, { signedUrl: [] }]);
  });

  it('admin routes answer as documented', async () => {
    const admin = { key: TEST_ADMIN_KEY };
    const tenant = (await call('post', '/v1/admin/tenants', 201, { ...admin, body: { name: 'docs tenant' } })).body;
    await call('get', '/v1/admin/tenants', 200, admin);
    const key = (await call('post', '/v1/admin/tenants/{id}/keys', 201, { ...admin, params: { id: tenant.id }, body: { name: 'docs' } })).body;
    await call('get', '/v1/admin/tenants/{id}/keys', 200, { ...admin, params: { id: tenant.id } });
    await call('post', '/v1/admin/keys/{id}/revoke', 200, { ...admin, params: { id: key.id } });
    await call('get', '/v1/jobs', 401, { key: key.key }); // revoked: invalid_api_key
    await call('post', '/v1/admin/keys/{id}/revoke', 404, { ...admin, params: { id: tenant.id } });
    await call('get', '/v1/admin/tenants/{id}/keys', 404, { ...admin, params: { id: key.id } });
    await call('post', '/v1/admin/tenants', 400, { ...admin, body: { name: '' } });
    // Idempotency: a replay, a reuse with another body, a malformed key.
    const once = { ...admin, headers: { 'idempotency-key': 'docs-1' }, body: { name: 'once' } };
    const first = await call('post', '/v1/admin/tenants', 201, once);
    const replay = await call('post', '/v1/admin/tenants', 201, once);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.id, first.body.id);
    await call('post', '/v1/admin/tenants', 422, { ...once, body: { name: 'twice' } });
    await call('post', '/v1/admin/tenants', 400, { ...admin, headers: { 'idempotency-key': 'x'.repeat(256) }, body: { name: 'x' } });
  });

  it('datasets and models answer as documented', async () => {
    const bucket = h.storage.bucket;
    await h.storage.put(`${h.uploads}iris.csv`, irisLikeCsv(60));
    await h.storage.put(`${h.uploads}bad.csv`, 'f0,species\nnot-a-number,a\n1,b\n');
    const csv = { type: 's3', uri: `s3://${bucket}/${h.uploads}iris.csv`, format: 'csv', labelColumn: 'species' };
    ids.dataset = (await call('post', '/v1/datasets', 201, { body: { name: 'iris', source: csv } })).body.id;
    await call('get', '/v1/datasets', 200, { query: { limit: '1' } });
    await call('get', '/v1/datasets/{id}', 200, { params: { id: ids.dataset } });
    // Images: 202 validating, then its events stream; a cancel of a registration that has ended is a 409.
    const png = await solid(4, 4, [1, 2, 3]).png().toBuffer();
    for (const key of ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png']) await h.storage.put(`${h.uploads}imgs/${key}`, png);
    const images = (await call('post', '/v1/datasets', 202, { body: { name: 'imgs', source: { type: 'images', layout: 'folders', uri: `s3://${bucket}/${h.uploads}imgs/`, preprocess: { size: [4, 4] } } } })).body;
    assert.equal(images.status, 'validating');
    const sse = await call('get', '/v1/datasets/{id}/events', 200, { params: { id: images.id }, headers: { accept: 'text/event-stream' } });
    assert.match(sse.text, /event: end\ndata: \{"status":"ready"\}/);
    assert.equal((await followDataset(h.app, images.id)).at(-1)!.status, 'ready');
    await call('post', '/v1/datasets/{id}/cancel', 409, { params: { id: images.id } });
    await call('get', '/v1/datasets/{id}/events', 404, { params: { id: randomUUID() } });
    // A validating row that no process runs (its heartbeat is fresh, so no sweep takes it): the cancel ends it.
    const orphan = randomUUID();
    await h.db.dataset.create({ data: { id: orphan, tenantId: h.tenant.tenantId, name: 'orphan', source: {}, featureShape: [], numExamples: 0, labels: [], classCounts: [], status: 'validating', heartbeatAt: new Date() } });
    assert.equal((await call('post', '/v1/datasets/{id}/cancel', 200, { params: { id: orphan } })).body.status, 'cancelled');
    await call('get', '/v1/datasets/{id}', 404, { params: { id: randomUUID() } });
    await call('get', '/v1/datasets/{id}', 400, { params: { id: 'not-a-uuid' } });
    await call('get', '/v1/datasets', 400, { query: { after: 'garbage' } });
    await call('post', '/v1/datasets', 422, { body: { name: 'x', source: { ...csv, uri: 's3://someone-elses-bucket/iris.csv' } } });
    await call('post', '/v1/datasets', 422, { body: { name: 'x', source: { ...csv, uri: `s3://${bucket}/datasets/${ids.dataset}/data.csv` } } });
    const upload = (await call('post', '/v1/uploads', 200, { body: { name: 'again/iris.csv' } })).body;
    assert.equal(upload.uri, `s3://${bucket}/${h.uploads}again/iris.csv`);
    await call('post', '/v1/uploads', 400, { body: { name: '../iris.csv' } });
    await call('post', '/v1/datasets', 404, { body: { name: 'x', source: { ...csv, uri: `s3://${bucket}/${h.uploads}missing.csv` } } });
    await call('post', '/v1/datasets', 400, { body: { name: 'x', source: { ...csv, uri: `s3://${bucket}/${h.uploads}bad.csv` } } });
    await call('post', '/v1/datasets', 400, { body: { name: 'x', source: { ...csv, uri: `s3://${bucket}/${h.uploads}../iris.csv` } } });
    await call('post', '/v1/datasets', 400, { raw: '{"name":' });
    await call('post', '/v1/datasets', 400, { raw: '' });
    await call('post', '/v1/datasets', 415, { raw: '<dataset/>', contentType: 'application/xml' });
    await call('post', '/v1/datasets', 413, { raw: JSON.stringify({ name: 'x'.repeat(70_000) }) });

    const uri = await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    ids.model = (await call('post', '/v1/models', 201, { body: { name: 'tiny', uri, labels: ['setosa', 'versicolor', 'virginica'] } })).body.id;
    await call('post', '/v1/models', 404, { body: { name: 'x', uri: `s3://${bucket}/${h.uploads}none/model.json` } });
    await call('post', '/v1/models', 422, { body: { name: 'x', uri: `s3://${bucket}/models/${ids.model}/model.json` } });
    await call('get', '/v1/models', 200);
    await call('get', '/v1/models/{id}', 200, { params: { id: ids.model } });
    await call('get', '/v1/models/{id}/{file}', 200, { params: { id: ids.model, file: 'model.json' } });
    await call('get', '/v1/models/{id}/{file}', 200, { params: { id: ids.model, file: 'weights.bin' } });
    await call('get', '/v1/models/{id}/{file}', 400, { params: { id: ids.model, file: 'other.bin' } });
    // Only a head trained on a Graph model has a base graph (graph-finetune.test.ts downloads one).
    const noGraph = await call('get', '/v1/models/{id}/base/{file}', 404, { params: { id: ids.model, file: 'model.json' } });
    assert.equal(noGraph.body.error.code, 'model_not_found');
    // Its files as a graph-head's publish lays them out (models/<id>/base/), to check the 200s against the document.
    await h.db.model.update({ where: { id: ids.model }, data: { format: 'graph-head', graphOutput: 'features' } });
    const graphFile = (f: string) => new Uint8Array(readFileSync(new URL(`./fixtures/graph/${f}`, import.meta.url)));
    const prefix = (await h.db.model.findUniqueOrThrow({ where: { id: ids.model } })).storagePrefix;
    await h.storage.put(`${prefix}base/model.json`, graphFile('model.json'));
    await h.storage.put(`${prefix}base/weights.bin`, graphFile('group1-shard1of1.bin'));
    await call('get', '/v1/models/{id}/base/{file}', 200, { params: { id: ids.model, file: 'model.json' } });
    await call('get', '/v1/models/{id}/base/{file}', 200, { params: { id: ids.model, file: 'weights.bin' } });
    await h.db.model.update({ where: { id: ids.model }, data: { format: 'layers-model', graphOutput: null } });
    const signed = (await call('post', '/v1/models/{id}/download-url', 200, { params: { id: ids.model } })).body;
    const query = Object.fromEntries(new URL(signed.url, 'http://x').searchParams);
    await call('get', '/v1/models/{id}/{file}', 200, { key: '', params: { id: ids.model, file: 'model.json' }, query });
    await call('get', '/v1/models/{id}/{file}', 401, { key: '', params: { id: ids.model, file: 'model.json' }, query: { ...query, signature: 'forged' } });
    await call('post', '/v1/models/{id}/download-url', 404, { params: { id: ids.dataset } });
    const spare = (await call('post', '/v1/models', 201, { body: { name: 'spare', uri } })).body.id;
    await call('delete', '/v1/models/{id}', 204, { params: { id: spare } });
    await call('delete', '/v1/models/{id}', 404, { params: { id: spare } });
  });

  it('jobs answer as documented, through a whole run', async () => {
    const finetune = {
      baseModelId: ids.model,
      cutLayer: 'hidden',
      head: [{ type: 'dense', units: 3, activation: 'softmax' }],
      hyperparameters: { epochs: 2, batchSize: 16, optimizer: 'sgd', learningRate: 0.1, validationSplit: 0.2 },
      trainDatasetId: ids.dataset,
      compareWithScratch: true,
    };
    await call('post', '/v1/jobs', 422, { body: { type: 'pretrain', trainDatasetId: ids.dataset } });
    await call('post', '/v1/jobs', 422, { body: { ...finetune, trainDatasetId: ids.model } });
    await call('post', '/v1/jobs', 400, { body: { ...finetune, epochs: 3 } });

    // No worker yet: queued jobs stay put while they are paused, resumed and cancelled.
    ids.id = (await call('post', '/v1/jobs', 202, { body: finetune })).body.id;
    assert.equal((await call('post', '/v1/jobs/{id}/pause', 202)).body.status, 'paused');
    const other = (await call('post', '/v1/jobs', 202, { body: finetune })).body.id;
    await call('post', '/v1/jobs', 429, { body: finetune }); // MAX_QUEUED_JOBS_PER_TENANT=2
    assert.equal((await call('post', '/v1/jobs/{id}/resume', 202)).body.status, 'queued');
    assert.equal((await call('post', '/v1/jobs/{id}/cancel', 202)).body.status, 'cancelled');
    await call('post', '/v1/jobs/{id}/cancel', 202);
    await call('post', '/v1/jobs/{id}/cancel', 202, { params: { id: other } });
    await call('post', '/v1/jobs/{id}/resume', 409);
    await call('post', '/v1/jobs/{id}/pause', 409);
    // Only a failed job is retried (as one that outlasted OUTAGE_BUDGET_MS would be).
    await call('post', '/v1/jobs/{id}/retry', 409);
    await h.db.job.update({ where: { id: other }, data: { status: 'failed', errorCode: 'dependency_unavailable' } });
    assert.equal((await call('post', '/v1/jobs/{id}/retry', 202, { params: { id: other } })).body.status, 'queued');
    await call('post', '/v1/jobs/{id}/cancel', 202, { params: { id: other } });
    for (const action of ['cancel', 'pause', 'resume', 'retry']) await call('post', `/v1/jobs/{id}/${action}`, 404, { params: { id: ids.dataset } });
    for (const sub of ['', '/metrics', '/checkpoints', '/events', '/webhook-deliveries']) await call('get', `/v1/jobs/{id}${sub}`, 404, { params: { id: ids.dataset } });
    await call('get', '/v1/jobs/{id}/checkpoints/{epoch}/{file}', 404, { params: { id: ids.dataset, epoch: '1', file: 'model.json' } });

    // A real run: the job with its metrics, checkpoints, evaluation, comparison and webhook delivery.
    ids.id = (await call('post', '/v1/jobs', 202, { body: { ...finetune, webhook: { url: webhookUrl, secret: 'whsec_docs_0123456789' } } })).body.id;
    await h.startWorker();
    const done = await waitForJob(h.app, ids.id, finished);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const job = (await call('get', '/v1/jobs/{id}', 200)).body;
    assert.ok(job.evaluation.comparison, 'the comparison with training from scratch is there to validate');
    assert.equal((await call('get', '/v1/jobs/{id}/metrics', 200)).body.data.length, 2);
    assert.ok((await call('get', '/v1/jobs/{id}/checkpoints', 200)).body.data.length > 0);
    for (const file of ['model.json', 'weights.bin']) await call('get', '/v1/jobs/{id}/checkpoints/{epoch}/{file}', 200, { params: { epoch: '1', file } });
    await call('get', '/v1/jobs/{id}/checkpoints/{epoch}/{file}', 404, { params: { epoch: '99', file: 'model.json' } });
    let deliveries: Json[] = [];
    for (const deadline = Date.now() + 60_000; deliveries[0]?.status !== 'delivered'; ) {
      assert.ok(Date.now() < deadline, `the webhook was not delivered: ${JSON.stringify(deliveries)}`);
      await new Promise((r) => setTimeout(r, 100));
      deliveries = (await call('get', '/v1/jobs/{id}/webhook-deliveries', 200)).body.data;
    }
    assert.equal(deliveries[0].attemptLog[0].statusCode, 204);
    const events = (await call('get', '/v1/jobs/{id}/events', 200, { query: { limit: '2' } })).body;
    assert.equal(events.hasMore, true);
    await call('get', '/v1/jobs/{id}/events', 200, { query: { after: events.nextCursor } });
    const stream = await call('get', '/v1/jobs/{id}/events', 200, { headers: { accept: 'text/event-stream' } });
    assert.match(stream.text, /event: end/);
    await call('get', '/v1/jobs/{id}/events', 400, { query: { after: 'x' } });
    await call('get', '/v1/jobs', 200, { query: { status: 'succeeded' } });
    await call('get', '/v1/jobs', 400, { query: { status: 'sleeping' } });
    await call('post', '/v1/jobs/{id}/cancel', 409);
    await call('get', '/v1/models/{id}', 200, { params: { id: done.outputModelId } });
    const advice = (await call('post', '/v1/advice', 202, { body: { baseModelId: ids.model, trainDatasetId: ids.dataset, budget: { sampleSize: 40 } } })).body;
    await waitForJob(h.app, advice.id, finished);
    assert.ok((await call('get', '/v1/advice/{id}', 200, { params: { id: advice.id } })).body.advice, 'the advice is there to validate');
    await call('get', '/v1/advice/{id}', 404, { params: { id: ids.dataset } });
    await call('post', '/v1/advice', 422, { body: { baseModelId: ids.model, trainDatasetId: ids.model } });
    const sweepJob = { baseModelId: ids.model, trainDatasetId: ids.dataset, hyperparameters: { epochs: 1 } };
    const sweep = (await call('post', '/v1/sweeps', 202, { body: { job: sweepJob, space: { learningRate: [0.01, 0.02] } } })).body;
    await call('get', '/v1/sweeps/{id}', 200, { params: { id: sweep.id } });
    await call('get', '/v1/sweeps', 200);
    await call('post', '/v1/sweeps/{id}/cancel', 202, { params: { id: sweep.id } });
    await call('get', '/v1/sweeps/{id}', 404, { params: { id: ids.dataset } });
    await call('post', '/v1/sweeps', 422, { body: { job: sweepJob, space: { learningRate: { min: 0.01, max: 0.1 } } } });
    await call('get', '/readyz', 200);
  });

  it('every key-protected operation refuses no key and the wrong kind of key as documented', async () => {
    for (const { method, template, op } of operations()) {
      if (!op.security.length) continue;
      const params = pathExamples(op);
      const res401 = await call(method as Method, template, 401, { key: '', params });
      assert.equal(res401.body.error.code, 'unauthorized');
      const admin = op.security.some((s: Json) => 'adminKey' in s);
      const res403 = await call(method as Method, template, 403, { key: admin ? h.tenant.apiKey : TEST_ADMIN_KEY, params });
      assert.equal(res403.body.error.code, admin ? 'admin_only' : 'tenant_key_required');
    }
    const unknown = await http(h.app).get('/v1/nothing-here');
    const body: Json = unknown.body;
    assert.equal(unknown.status, 404);
    assert.equal(body.error.code, 'route_not_found');
    assert.ok(validator({ $ref: '#/components/schemas/Error' })(body));
  });

  it('every operation answered a real request with a documented success', async () => {
    // Parameterless GETs that no flow above reached (routes added later, e.g. /metrics), with the key they document.
    for (const { method, template, op } of operations()) {
      if (method !== 'get' || exercised.has(`GET ${template}`) || template.includes('{')) continue;
      const scheme = Object.keys(op.security[0] ?? {})[0];
      await call('get', template, '2xx', { key: scheme === 'adminKey' ? TEST_ADMIN_KEY : scheme ? h.tenant.apiKey : '' });
    }
    const all = operations().map(({ method, template }) => `${method.toUpperCase()} ${template}`);
    assert.deepEqual(all.filter((o) => !exercised.has(o)), []);
  });
});
