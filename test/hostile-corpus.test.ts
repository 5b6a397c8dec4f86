// A corpus of hostile inputs, one row each: the request, the 4xx it must get
// and its stable error code. After the lot, the service still answers, and the
// refused requests left nothing behind: no dataset, model or job row, no queue
// entry, and no object under the service's own prefixes in S3.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import type { AddressInfo } from 'node:net';
import { createRedis } from '../apps/shared/queue/contract.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';
import { ERROR_CODES } from '../apps/api/src/schemas/errors.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { Corpus, rowHelpers, type Case } from './helpers/hostile-corpus/rows.ts';
import { requestsRows } from './helpers/hostile-corpus/requests.ts';
import { dataFilesRows } from './helpers/hostile-corpus/data-files.ts';
import { pathsRows } from './helpers/hostile-corpus/paths.ts';
import { modelsRows } from './helpers/hostile-corpus/models.ts';
import { transportRows } from './helpers/hostile-corpus/transport.ts';

describe('hostile input corpus', () => {
  const c = new Corpus();
  const { ids } = c;
  const r = rowHelpers(c);
  const { api, bucket, imageFolder } = r;
  let h: Harness;
  let queue: Queue;
  let redis: ReturnType<typeof createRedis>;
  let baseline: { datasets: number; models: number; jobs: number; objects: string[] };

  const cases: Case[] = [...requestsRows(r, c), ...dataFilesRows(r, c), ...pathsRows(r, c), ...modelsRows(r, c), ...transportRows(r, c)];

  before(async () => {
    h = c.h = await createHarness({ env: { OUTBOUND_ALLOWED_HOSTS: 'hooks.example.com', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    c.port = (h.app.server.address() as AddressInfo).port;
    redis = createRedis(h.config);
    queue = new Queue(h.config.queueName, { connection: redis });
    const make = async (name: string, source: Record<string, unknown>, key?: string) => {
      const res = await (key ? http(h.app, key) : api()).post('/v1/datasets').send({ name, source });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.digits = await make('digits 0-4', { type: 'mnist', classes: [0, 1, 2, 3, 4], count: 50 });
    ids.otherDigits = await make('digits 5-9', { type: 'mnist', classes: [5, 6, 7, 8, 9], count: 50 });
    ids.oneClass = await make('only 3s', { type: 'mnist', classes: [3], count: 20 });
    await h.storage.put(`${h.uploads}table.csv`, irisLikeCsv());
    ids.table = await make('table', { type: 's3', uri: `s3://${bucket()}/${h.uploads}table.csv`, format: 'csv', labelColumn: 'species' });
    const uri = await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    ids.model = (await api().post('/v1/models').send({ name: 'tiny', uri })).body.id;
    c.tiny = { json: JSON.parse(Buffer.from(await h.storage.getBytes(`${h.uploads}tiny/model.json`)).toString()), weights: await h.storage.getBytes(`${h.uploads}tiny/weights.bin`) };
    const foreign = await h.newTenant('someone else');
    ids.foreignDataset = await make('theirs', { type: 'mnist', classes: [0, 1], count: 10 }, foreign.apiKey);
    ids.foreignArea = uploadPrefix(foreign.tenantId);
    await h.storage.put(`${ids.foreignArea}table.csv`, irisLikeCsv());
    await uploadTinyModel(h.storage, `${ids.foreignArea}tiny/`);
    await h.storage.put('uploads/table.csv', irisLikeCsv());
    ids.failedImages = (await imageFolder('img-failed', new Uint8Array(0))).accepted.id;
    baseline = {
      datasets: await h.db.dataset.count({ where: { status: 'ready' } }),
      models: await h.db.model.count(),
      jobs: await h.db.job.count(),
      objects: (await h.storage.list('')).map((o) => o.key).filter((k) => !k.startsWith(`${h.uploads}`)).sort(),
    };
  });
  after(async () => {
    await queue?.close();
    await redis?.quit();
    await h?.close();
  });

  it(`holds at least 50 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 50);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  });

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const res = await c.send();
      assert.equal(res.status, c.status, `${c.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
      assert.equal(res.body?.error?.code, c.code, `${c.name}: ${JSON.stringify(res.body).slice(0, 500)}`);
      assert.equal(typeof res.body.error.message, 'string');
      assert.ok(Object.hasOwn(ERROR_CODES, c.code), `${c.code} is catalogued`);
      assert.deepEqual(Object.keys(res.body).sort(), ['error'], 'our error shape, nothing else');
      assert.ok(!/at .+\.ts:\d+/.test(JSON.stringify(res.body)), 'no stack trace');
      c.check?.(res.body.error.details, res);
    });
  }

  it('afterwards the service is up, and the refused requests left no row, queue entry or object behind', async () => {
    assert.equal((await http(h.app, '').get('/healthz')).status, 200);
    assert.equal((await api().get('/v1/datasets')).status, 200);
    // A refused image registration is kept only as a failed record (its error), never usable and with no object.
    assert.equal(await h.db.dataset.count({ where: { status: 'ready' } }), baseline.datasets, 'ready datasets');
    assert.equal(await h.db.dataset.count({ where: { status: 'validating' } }), 0, 'no registration left running');
    assert.equal(await h.db.model.count(), baseline.models, 'models');
    assert.equal(await h.db.job.count(), baseline.jobs, 'jobs');
    assert.equal(await queue.count(), 0, 'nothing enqueued');
    const objects = (await h.storage.list('')).map((o) => o.key).filter((k) => !k.startsWith(`${h.uploads}`)).sort();
    assert.deepEqual(objects, baseline.objects, 'no object outside uploads/ was written');
  });
});
