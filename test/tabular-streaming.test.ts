// CSV/NDJSON registration streams (issue 17): rows are checked as the object is
// read and written as float32 shards, which the worker reads like images. A
// shard set read back holds exactly what the whole-file parser makes of the
// file; a bad row after shards were written leaves no object; a file over
// DATASET_SYNC_MAX_BYTES registers in the background (202), at most
// MAX_DATASET_REGISTRATIONS_PER_TENANT at once (429); and a job trains on it
// streamed (DATA_IN_MEMORY_BYTES=0).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registerTabular } from '../apps/shared/data/tabular-register.ts';
import { parseTabular, TabularRows } from '../apps/shared/data/tabular.ts';
import { streamRows } from '../apps/shared/data/tabular-stream.ts';
import { tabularShards } from '../apps/shared/data/stream/tabular-shards.ts';
import { readAll } from '../apps/shared/data/stream/split.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { finished, followDataset, http, submitJob, waitForJob } from './helpers/api.ts';
import { irisLikeCsv } from './helpers/fixtures.ts';

const NO_LIMITS = { maxBytes: Infinity, maxRows: Infinity, maxFeatures: Infinity, maxClasses: Infinity };

/** n rows of three features and a label of three, with values that are not round in float32. */
function table(n: number, format: 'csv' | 'ndjson', badRow?: number): string {
  const rows: string[] = format === 'csv' ? ['a,b,c,label'] : [];
  for (let i = 1; i <= n; i++) {
    const [a, b, c, label] = [i / 7, -i * 0.013, i % 11, ['x', 'y', 'z'][(i * 7) % 3]];
    const bad = i === badRow;
    rows.push(format === 'csv' ? `${a},${bad ? 'oops' : b},${c},${label}` : JSON.stringify({ a, b: bad ? 'oops' : b, c, label }));
  }
  return rows.join('\n') + '\n';
}

/** Every row streamRows yields from `text` cut into chunks of `size` bytes (a label's UTF-8 split across two of them). */
async function streamed(text: string, format: 'csv' | 'ndjson', size: number) {
  const bytes = Buffer.from(text);
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const features: number[] = [];
  const labels: string[] = [];
  for await (const r of streamRows(chunks(), format, new TabularRows({ format, labelColumn: 'label' }, { maxRows: Infinity, maxFeatures: Infinity }))) {
    features.push(...r.features);
    labels.push(r.label);
  }
  return { features: Float32Array.from(features), labels };
}

describe('tabular rows from a byte stream', () => {
  for (const format of ['csv', 'ndjson'] as const) {
    it(`${format}: cut anywhere (1, 7 and 4096 bytes a chunk, CRLF, blank lines, multi-byte labels), the rows are the whole-file parser's`, async () => {
      const text = table(200, format).replaceAll('\n', '\r\n').replaceAll(',x', ',ÿ€x').replaceAll('"x"', '"ÿ€x"') + '\r\n\r\n';
      const whole = parseTabular(Buffer.from(text), { format, labelColumn: 'label' });
      assert.ok(whole.labels.includes('ÿ€x'));
      for (const size of [1, 7, 4096]) assert.deepEqual(await streamed(text, format, size), { features: whole.features, labels: whole.labels }, `chunks of ${size}`);
    });
  }
});

describe('tabular registration streams into shards', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true, env: { DATASET_SYNC_MAX_BYTES: '4096', MAX_DATASET_REGISTRATIONS_PER_TENANT: '1', DATA_IN_MEMORY_BYTES: '0' } });
  });
  after(() => h?.close());

  const uri = (key: string) => `s3://${h.storage.bucket}/${h.uploads}${key}`;

  for (const format of ['csv', 'ndjson'] as const) {
    it(`${format}: the shards hold exactly what the whole-file parser reads, in file order`, async () => {
      const text = table(1000, format);
      await h.storage.put(`${h.uploads}t.${format}`, text);
      const id = randomUUID();
      // 1 KiB shards: 85 rows of 3 floats each, 12 shards.
      const reg = await registerTabular(id, { type: 's3', uri: uri(`t.${format}`), format, labelColumn: 'label' }, h.storage, NO_LIMITS, { shardBytes: 1024 });
      assert.equal(reg.source.numShards, 12);
      assert.deepEqual(reg.labels, ['x', 'y', 'z']);
      const whole = parseTabular(Buffer.from(text), { format, labelColumn: 'label' });
      const src = await tabularShards(reg.source, h.storage, reg.labels);
      const read = await readAll(src);
      assert.deepEqual(read.features, whole.features);
      assert.deepEqual(Array.from(read.classes, (c) => reg.labels[c]), whole.labels);
      assert.deepEqual(reg.classCounts.map((c) => c.count), ['x', 'y', 'z'].map((l) => whole.labels.filter((w) => w === l).length));
    });
  }

  it('a bad row after shards were written is a 400 naming it, and every object written is deleted', async () => {
    await h.storage.put(`${h.uploads}late-bad.csv`, table(1000, 'csv', 990));
    const id = randomUUID();
    const seen: number[] = [];
    await assert.rejects(
      registerTabular(id, { type: 's3', uri: uri('late-bad.csv'), format: 'csv', labelColumn: 'label' }, h.storage, NO_LIMITS, { shardBytes: 1024, onProgress: (p) => seen.push(p.bytesRead) }),
      (err: any) => err.code === 'dataset_invalid' && err.details.row === 990 && err.details.column === 'b',
    );
    assert.ok(seen.some((b) => b > 0), 'it had read into the file');
    assert.deepEqual(await h.storage.list(`datasets/${id}/`), []);
  });

  it('a file over DATASET_SYNC_MAX_BYTES answers 202 and ends ready; a second one while it validates is a 429 naming the setting', async () => {
    await h.storage.put(`${h.uploads}big.csv`, irisLikeCsv(600));
    const body = { name: 'big', source: { type: 's3', uri: uri('big.csv'), format: 'csv', labelColumn: 'species' } };
    // A registration of this tenant still validating (as if running in another process).
    const busy = randomUUID();
    await h.db.dataset.create({ data: { id: busy, tenantId: h.tenant.tenantId, name: 'busy', source: {}, featureShape: [], numExamples: 0, labels: [], classCounts: [], status: 'validating', heartbeatAt: new Date() } });
    const refused = await http(h.app).post('/v1/datasets').send(body);
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'too_many_dataset_registrations');
    assert.equal(refused.body.error.details.setting, 'MAX_DATASET_REGISTRATIONS_PER_TENANT');
    assert.match(refused.body.error.message, /MAX_DATASET_REGISTRATIONS_PER_TENANT/);
    // A small file is registered within the request: the limit is on background registrations only.
    await h.storage.put(`${h.uploads}small.csv`, irisLikeCsv(30));
    const small = await http(h.app).post('/v1/datasets').send({ ...body, name: 'small', source: { ...body.source, uri: uri('small.csv') } });
    assert.equal(small.status, 201, JSON.stringify(small.body));
    await h.db.dataset.update({ where: { id: busy }, data: { status: 'failed', heartbeatAt: null } });

    const res = await http(h.app).post('/v1/datasets').send(body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'validating');
    const ready = (await followDataset(h.app, res.body.id)).at(-1)!;
    assert.equal(ready.status, 'ready', JSON.stringify(ready.error));
    assert.equal(ready.numExamples, 600);
    assert.equal(ready.progress.bytesRead, ready.progress.bytesTotal);
    assert.deepEqual(ready.classCounts, [{ label: 'setosa', count: 200 }, { label: 'versicolor', count: 200 }, { label: 'virginica', count: 200 }]);

    // A job trains on it streamed: DATA_IN_MEMORY_BYTES is 0 here.
    const train = async (trainDatasetId: string) => {
      const job = await submitJob(h.app, {
        type: 'pretrain',
        architecture: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }],
        trainDatasetId,
        hyperparameters: { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.05, validationSplit: 0.2, seed: 7 },
      });
      const done = await waitForJob(h.app, job.id, finished);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.bestCheckpoint.streamed, true);
      assert.equal(done.latestMetrics.epoch, 2);
      const { loss, accuracy, valLoss, valAccuracy } = done.latestMetrics;
      return { loss, accuracy, valLoss, valAccuracy, evaluation: done.evaluation };
    };
    const fromShards = await train(ready.id);

    // The same file as a dataset registered before registration streamed (a whole-file snapshot,
    // parsed in memory by the worker, then cut into shards of 4,096 rows): one shard either way
    // here, so the seeded order, the validation split and so the metrics are the same.
    const legacy = randomUUID();
    const objectKey = `datasets/${legacy}/data.csv`;
    await h.storage.put(objectKey, irisLikeCsv(600));
    const { id: _id, createdAt: _c, ...row } = await h.db.dataset.findUniqueOrThrow({ where: { id: ready.id } });
    await h.db.dataset.create({
      data: { ...row, id: legacy, source: { ...body.source, featureColumns: ['f0', 'f1', 'f2', 'f3'], objectKey }, classCounts: row.classCounts ?? [], progress: undefined, error: undefined },
    });
    assert.deepEqual(await train(legacy), fromShards);
  });

  it('a background registration with a bad row ends failed with the row, and leaves no object', async () => {
    await h.storage.put(`${h.uploads}big-bad.ndjson`, table(300, 'ndjson', 250));
    const res = await http(h.app).post('/v1/datasets').send({ name: 'bad', source: { type: 's3', uri: uri('big-bad.ndjson'), format: 'ndjson', labelColumn: 'label' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const last = (await followDataset(h.app, res.body.id)).at(-1)!;
    assert.equal(last.status, 'failed');
    assert.deepEqual([last.error.code, last.error.status, last.error.details.row], ['dataset_invalid', 400, 250]);
    assert.deepEqual(await h.storage.list(`datasets/${res.body.id}/`), []);
  });
});
