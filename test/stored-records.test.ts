// Issue 12, hole 3: a stored row whose summary does not fit the response
// schema used to answer 500 on every list it was on, for good. A poisoned row
// written straight into Postgres is now left out of lists (named in `skipped`,
// logged), the list answers 200 and pages past it, and only a GET of that row
// answers 500 stored_record_invalid. What registration derives is checked
// against the same schema before anything is stored.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { uploadTinyModel } from './helpers/fixtures.ts';
import { viewCheck, type ViewCheck } from '../apps/api/src/services/record-views.ts';
import { ModelSchema } from '../apps/api/src/schemas/models.ts';
import { AppError } from '../apps/shared/errors.ts';

describe('stored rows that do not fit their schema', () => {
  let h: Harness;
  const good: Record<string, string> = {};
  const bad: Record<string, string> = {};
  before(async () => {
    h = await createHarness();
    good.model = (await http(h.app).post('/v1/models').send({ name: 'good', uri: await uploadTinyModel(h.storage, `${h.uploads}tiny/`) })).body.id;
    good.dataset = (await http(h.app).post('/v1/datasets').send({ name: 'good', source: { type: 'mnist', classes: [0, 1], count: 10 } })).body.id;
    // Written straight into Postgres, as the string dimension of issue 12 once got there.
    bad.model = randomUUID();
    await h.db.model.create({
      data: {
        id: bad.model, tenantId: h.tenant.tenantId, name: 'poisoned', kind: 'base', sourceUri: null, storagePrefix: `models/${bad.model}/`,
        inputShape: [null, '4', 1], outputShape: [null, 3], layers: [], labels: [], totalParams: 15, trainableParams: 15,
      },
    });
    bad.dataset = randomUUID();
    await h.db.dataset.create({
      data: { id: bad.dataset, tenantId: h.tenant.tenantId, name: 'poisoned', source: { type: 'mnist' }, featureShape: [2], numExamples: 2, labels: ['a', 'b'], classCounts: [{ label: 'a', count: 'one' }] },
    });
  });
  after(() => h?.close());

  for (const kind of ['models', 'datasets'] as const) {
    it(`GET /v1/${kind} answers 200 without the poisoned row, names it in skipped, and pages past it`, async () => {
      const list = await http(h.app).get(`/v1/${kind}`);
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.deepEqual(list.body.data.map((x: { id: string }) => x.id), [good[kind.slice(0, -1)]]);
      assert.deepEqual(list.body.skipped, [bad[kind.slice(0, -1)]]);
      // One row a page: the poisoned one (newest) is a page of its own, and the cursor moves on.
      const first = await http(h.app).get(`/v1/${kind}?limit=1`);
      assert.equal(first.status, 200);
      assert.deepEqual([first.body.data, first.body.skipped, first.body.hasMore], [[], [bad[kind.slice(0, -1)]], true]);
      const second = await http(h.app).get(`/v1/${kind}?limit=1&after=${first.body.nextCursor}`);
      assert.deepEqual(second.body.data.map((x: { id: string }) => x.id), [good[kind.slice(0, -1)]]);
      assert.equal(second.body.skipped, undefined, 'absent when nothing was left out');
    });

    it(`GET /v1/${kind}/:id of the poisoned row is 500 stored_record_invalid; the good one still answers`, async () => {
      const res = await http(h.app).get(`/v1/${kind}/${bad[kind.slice(0, -1)]}`);
      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'stored_record_invalid');
      assert.equal((await http(h.app).get(`/v1/${kind}/${good[kind.slice(0, -1)]}`)).status, 200);
    });
  }

  it('the tenant can still delete the poisoned model', async () => {
    assert.equal((await http(h.app).delete(`/v1/models/${bad.model}`)).status, 204);
    assert.equal((await http(h.app).get('/v1/models')).body.skipped, undefined);
  });

  it("a summary that would not fit the response is refused before it is stored: 422 summary_invalid", () => {
    const view = { id: randomUUID(), name: 'm', kind: 'base', format: 'layers-model', sourceUri: null, inputShape: [null, '4', 1], outputShape: [null, 3], labels: [], layers: [], totalParams: 1, trainableParams: 1, lineage: { parentModelId: null, jobId: null }, files: { modelJson: '', weights: [] }, createdAt: new Date().toISOString() };
    const check: ViewCheck<typeof ModelSchema> = viewCheck(ModelSchema);
    assert.throws(() => check.assertStorable(view), (e: AppError) => e.statusCode === 422 && e.code === 'summary_invalid' && /inputShape\/1/.test(e.message));
    check.assertStorable({ ...view, inputShape: [null, 4, 1] });
  });
});
