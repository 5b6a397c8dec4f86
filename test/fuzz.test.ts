// Schema-driven fuzzing: requests to every operation in /openapi.json, valid
// ones generated from the documented schemas and mutated ones (a part replaced,
// removed or added), seeded. Invariants: no 5xx; every 4xx in the error shape
// with a catalogued code that the operation documents for that status; every
// 2xx valid against its documented schema; afterwards the service answers, and
// no row or object exists that a successful request did not create. No worker
// runs: accepted jobs stay queued and train nothing. `npm run fuzz` runs ten
// times the requests (FUZZ_SCALE=10); FUZZ_SEED picks another sequence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { createHarness, TEST_ADMIN_KEY, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { arbitraryFor, mutationOf, type ArbitraryOptions } from './helpers/schema-arbitrary.ts';
import { ERROR_CODES } from '../apps/api/src/schemas/errors.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_130);
/** Rounds of one request per operation. */
const ROUNDS = 24 * SCALE;

type Json = Record<string, any>;
interface Request {
  method: string;
  template: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

const addFormats = formats as unknown as typeof formats.default;

describe('fuzzing every operation from /openapi.json', () => {
  let h: Harness;
  let doc: Json;
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  const validators = new Map<string, ValidateFunction>();
  const local = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi.json#/$defs/'));
  const validator = (schema: unknown) => {
    const key = JSON.stringify(schema);
    if (!validators.has(key)) validators.set(key, ajv.compile(local(schema)));
    return validators.get(key)!;
  };

  /** Ids the requests name, by kind: seeded ones, and every id a 2xx returned since. */
  const pools = { datasets: [] as string[], models: [] as string[], jobs: [] as string[], tenants: [] as string[], keys: [] as string[], cursors: [] as string[] };
  const pick = (pool: string[]) => fc.nat().map((i) => pool[i % pool.length] ?? '00000000-0000-4000-8000-000000000000');
  /** An id of the right kind mostly, of another kind or none sometimes. */
  const idFrom = (pool: string[]) => fc.oneof({ weight: 6, arbitrary: pick(pool) }, { weight: 1, arbitrary: pick(pools.datasets) }, { weight: 1, arbitrary: fc.uuid() });
  const uris: string[] = [];
  const created = { datasets: new Set<string>(), models: new Set<string>(), jobs: new Set<string>() };
  const deleted = new Set<string>();
  const baseline = { datasets: new Set<string>(), models: new Set<string>(), jobs: new Set<string>() };
  const statuses = new Map<number, number>();
  /** `METHOD template` → status → count, for FUZZ_REPORT. */
  const perOp = new Map<string, Record<number, number>>();

  before(async () => {
    h = await createHarness({ env: { MAX_QUEUED_JOBS_PER_TENANT: '20', MODEL_INSPECT_CONCURRENCY: '1' } });
    doc = (await http(h.app, '').get('/openapi.json')).body;
    ajv.addSchema({ $id: 'openapi.json', $defs: local(doc.components.schemas) });
    const bucket = h.storage.bucket;
    await h.storage.put(`${h.uploads}iris.csv`, irisLikeCsv(30));
    const model = await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    const other = await h.newTenant('other');
    await h.storage.put(`${uploadPrefix(other.tenantId)}iris.csv`, irisLikeCsv(30));
    const mnist = await http(h.app).post('/v1/datasets').send({ name: 'digits', source: { type: 'mnist', classes: [0, 1, 2], count: 30 } });
    const table = await http(h.app).post('/v1/datasets').send({ name: 'iris', source: { type: 's3', uri: `s3://${bucket}/${h.uploads}iris.csv`, format: 'csv', labelColumn: 'species' } });
    const base = await http(h.app).post('/v1/models').send({ name: 'tiny', uri: model });
    const job = await http(h.app).post('/v1/jobs').send({ baseModelId: base.body.id, trainDatasetId: table.body.id });
    assert.deepEqual([mnist.status, table.status, base.status, job.status], [201, 201, 201, 202], JSON.stringify([mnist.body, table.body, base.body, job.body]));
    pools.datasets.push(mnist.body.id, table.body.id);
    pools.models.push(base.body.id);
    pools.jobs.push(job.body.id);
    pools.tenants.push(other.tenantId);
    uris.push(
      model, `s3://${bucket}/${h.uploads}iris.csv`, `s3://${bucket}/${h.uploads}missing.csv`, `s3://${bucket}/${h.uploads}none/model.json`,
      `s3://${bucket}/models/${base.body.id}/model.json`, `s3://${bucket}/datasets/${table.body.id}/index.json`,
      `s3://${bucket}/${uploadPrefix(other.tenantId)}iris.csv`, 's3://someone-elses-bucket/x/model.json',
    );
    for (const d of await h.db.dataset.findMany()) baseline.datasets.add(d.id);
    for (const m of await h.db.model.findMany()) baseline.models.add(m.id);
    for (const j of await h.db.job.findMany()) baseline.jobs.add(j.id);
  });
  after(() => h?.close());

  const options = (idPool: string[]): ArbitraryOptions => ({
    defs: doc.components.schemas,
    maxDepth: 4,
    overrides: {
      // Small selections keep a request cheap: MNIST is decoded per request.
      count: fc.integer({ min: 1, max: 200 }),
      offset: fc.integer({ min: 0, max: 500 }),
      // The schema leaves MAX_PAGE_SIZE to the route (400 page_size_exceeded); mostly ask within it.
      limit: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 10_000 }) }),
      after: fc.oneof(pick(pools.cursors), fc.string({ maxLength: 30 })),
      trainDatasetId: idFrom(pools.datasets),
      validationDatasetId: idFrom(pools.datasets),
      testDatasetId: idFrom(pools.datasets),
      baseModelId: idFrom(pools.models),
    },
    patterns: [
      [/\{8\}-\[0-9a-fA-F\]\{4\}/, () => idFrom(idPool)],
      [/^\^s3:/, (pattern) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...uris.filter((u) => pattern.test(u))) }, { weight: 1, arbitrary: fc.stringMatching(pattern) })],
    ],
  });

  /** A request to one operation: valid for its schemas, or one part wrong, with a tenant key mostly. */
  function requestFor(method: string, template: string, op: Json): fc.Arbitrary<Request> {
    // The path's `{id}` is of the resource the path names.
    const resource = /^\/v1\/(admin\/)?(\w+)/.exec(template)?.[2] as keyof typeof pools | undefined;
    const o = options(resource && resource in pools ? pools[resource] : pools.datasets);
    const params = (op.parameters ?? []) as Json[];
    const one = (p: Json) => o.overrides?.[p.name] ?? arbitraryFor(p.schema, o);
    const path = fc.record(Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, one(p)])));
    const query = fc.record(Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, one(p)])), { requiredKeys: [] });
    const schema = op.requestBody?.content?.['application/json']?.schema;
    let body = schema ? arbitraryFor(schema, o) : fc.constant(undefined);
    // A job spec drawn field by field is rarely one the planner accepts; half of them keep to the fields a fine-tune needs.
    if (method === 'post' && template === '/v1/jobs') {
      const hp = arbitraryFor(schema.properties.hyperparameters, o);
      body = fc.oneof(body, fc.record({ baseModelId: pick(pools.models), trainDatasetId: pick(pools.datasets), hyperparameters: hp }, { requiredKeys: ['baseModelId', 'trainDatasetId'] }));
    }
    const admin = (op.security as Json[]).some((s) => 'adminKey' in s);
    const key = fc.oneof({ weight: 12, arbitrary: fc.constant(admin ? TEST_ADMIN_KEY : h.tenant.apiKey) }, { weight: 1, arbitrary: fc.constantFrom('', 'ft_garbage', admin ? h.tenant.apiKey : TEST_ADMIN_KEY) });
    const valid = fc.record({ path, query, body });
    const mutated = valid.chain((v) => mutationOf(v).map((m) => (m && typeof m === 'object' ? { path: {}, query: {}, ...(m as object) } : { path: {}, query: {}, body: m })));
    return fc.tuple(fc.oneof(valid, mutated), key, fc.boolean()).map(([r, k, raw]) => {
      const url = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(String((r.path as Json)?.[name] ?? '')));
      const qs = new URLSearchParams(Object.entries((r.query as Json) ?? {}).filter(([, v]) => v !== undefined).map(([k2, v]): [string, string] => [k2, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
      const headers: Record<string, string> = k ? { authorization: `Bearer ${k}` } : {};
      let payload: string | undefined;
      if (method !== 'get' && method !== 'delete' && r.body !== undefined) {
        headers['content-type'] = 'application/json';
        // Now and then the body breaks as JSON itself.
        payload = raw && Math.abs(JSON.stringify(r.body).length % 7) === 0 ? JSON.stringify(r.body).slice(0, -1) : JSON.stringify(r.body);
      }
      return { method: method.toUpperCase(), template, url: qs ? `${url}?${qs}` : url, headers, payload };
    });
  }

  function record(req: Request, status: number, body: Json) {
    if (status >= 300) return;
    const resource = /^\/v1\/(admin\/)?(\w+)/.exec(req.template)?.[2];
    const pool = resource === 'tenants' && req.template.endsWith('/keys') ? pools.keys : pools[resource as keyof typeof pools];
    // The fuzzing tenant itself stays out: revoking its own key would end the run's coverage, not find a bug.
    const found = [body?.id, ...(Array.isArray(body?.data) ? body.data.map((x: Json) => x?.id) : [])].filter((id) => typeof id === 'string' && id !== h.tenant.tenantId);
    for (const id of found) if (pool && !pool.includes(id)) pool.push(id);
    if (typeof body?.nextCursor === 'string') pools.cursors.push(body.nextCursor);
    const kind = req.method === 'POST' ? ({ '/v1/datasets': 'datasets', '/v1/models': 'models', '/v1/jobs': 'jobs' } as const)[req.template] : undefined;
    if (kind) created[kind].add(body.id);
    if (req.method === 'DELETE' && req.template === '/v1/models/{id}') {
      const id = decodeURIComponent(req.url.split('/')[3]);
      deleted.add(id);
      pools.models.splice(pools.models.indexOf(id), 1);
    }
  }

  /** The invariants, for one response. */
  function check(req: Request, op: Json, res: { statusCode: number; headers: Json; body: string }) {
    const where = `${req.method} ${req.url} ${req.payload?.slice(0, 300) ?? ''} -> ${res.statusCode} ${res.body.slice(0, 500)}`;
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    const tally = perOp.get(`${req.method} ${req.template}`) ?? {};
    tally[res.statusCode] = (tally[res.statusCode] ?? 0) + 1;
    perOp.set(`${req.method} ${req.template}`, tally);
    assert.ok(res.statusCode < 500, `no 5xx: ${where}`);
    const type = String(res.headers['content-type'] ?? '').split(';')[0];
    const body = type === 'application/json' ? JSON.parse(res.body) : undefined;
    if (res.statusCode >= 400) {
      assert.deepEqual(Object.keys(body ?? {}), ['error'], `the error shape: ${where}`);
      assert.equal(typeof body.error.message, 'string', where);
      assert.ok(Object.hasOwn(ERROR_CODES, body.error.code), `a catalogued code: ${where}`);
      // A path no route matches is the one answer no operation documents.
      if (body.error.code === 'route_not_found') return;
    }
    const documented = op.responses[String(res.statusCode)];
    assert.ok(documented, `a documented status: ${where}`);
    if (res.statusCode >= 400) {
      const codes = Object.keys(documented.content?.['application/json']?.examples ?? {});
      assert.ok(codes.includes(body.error.code), `${body.error.code} is documented for ${res.statusCode} (${codes.join(', ')}): ${where}`);
      return;
    }
    record(req, res.statusCode, body);
    if (!documented.content) return assert.equal(res.body, '', where);
    assert.ok(documented.content[type], `a documented media type (${type}): ${where}`);
    if (type === 'application/json') {
      const validate = validator(documented.content[type].schema);
      assert.ok(validate(body), `valid against its schema: ${ajv.errorsText(validate.errors)}: ${where}`);
    }
  }

  it(`sends ${ROUNDS} rounds of one request per operation (seed ${SEED}): no 5xx, documented 4xx codes, valid 2xx`, async () => {
    const ops = Object.entries(doc.paths as Record<string, Json>).flatMap(([template, item]) => Object.entries(item).map(([method, op]) => ({ method, template, op: op as Json })));
    assert.ok(ops.length > 25, `${ops.length} operations`);
    const round = fc.tuple(...ops.map(({ method, template, op }) => requestFor(method, template, op)));
    await fc.assert(
      fc.asyncProperty(round, async (requests) => {
        for (const [i, req] of requests.entries()) {
          const res = await h.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload });
          check(req, ops[i].op, res);
        }
      }),
      { seed: SEED, numRuns: ROUNDS, endOnFailure: true },
    );
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    const ok = [...statuses].filter(([s]) => s < 300).reduce((a, [, n]) => a + n, 0);
    // Not only refusals: a fuzzer that never gets past validation tests little.
    assert.ok(ok >= total * 0.15, `2xx: ${ok} of ${total} (${JSON.stringify(Object.fromEntries(statuses))})`);
    assert.ok(created.datasets.size + created.models.size + created.jobs.size > 0, 'some requests created something');
    if (process.env.FUZZ_REPORT) console.log(JSON.stringify({ total, statuses: Object.fromEntries(statuses), created: Object.fromEntries(Object.entries(created).map(([k, v]) => [k, v.size])), perOp: Object.fromEntries(perOp) }));
  });

  it('afterwards the service answers, and every row and object was made by a request that succeeded', async () => {
    assert.equal((await http(h.app, '').get('/healthz')).status, 200);
    assert.equal((await http(h.app, '').get('/readyz')).status, 200);
    const expected = (kind: keyof typeof created) => [...baseline[kind], ...created[kind]].filter((id) => !deleted.has(id)).sort();
    assert.deepEqual((await h.db.dataset.findMany()).map((d) => d.id).sort(), expected('datasets'), 'datasets');
    assert.deepEqual((await h.db.model.findMany()).map((m) => m.id).sort(), expected('models'), 'models');
    assert.deepEqual((await h.db.job.findMany()).map((j) => j.id).sort(), expected('jobs'), 'jobs');
    const live = new Set([...expected('datasets'), ...expected('models')]);
    for (const { key } of await h.storage.list('')) {
      if (key.startsWith('uploads/')) continue;
      const [prefix, id] = key.split('/');
      assert.ok((prefix === 'models' || prefix === 'datasets') && live.has(id), `${key} belongs to no row a request created`);
    }
  });
});
