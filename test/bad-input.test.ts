// Bad input gets a 4xx with a stable code, and leaves no half-created record
// (no job row, no queue entry, no stray S3 object) behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { createRedis } from '../apps/shared/queue/contract.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, http, tinyMlp } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';

describe('bad input', () => {
  let h: Harness;
  let queue: Queue;
  let redis: ReturnType<typeof createRedis>;
  const ids: Record<string, string> = {};

  before(async () => {
    h = await createHarness({ env: { MAX_DATASET_BYTES: '4096' } });
    redis = createRedis(h.config);
    queue = new Queue(h.config.queueName, { connection: redis });
    ids.digits = (await createDataset(h.app, 'digits 0-4', { type: 'mnist', classes: [0, 1, 2, 3, 4], count: 50 })).id;
    ids.other = (await createDataset(h.app, 'digits 5-9', { type: 'mnist', classes: [5, 6, 7, 8, 9], count: 50 })).id;
    ids.oneClass = (await createDataset(h.app, 'only 3s', { type: 'mnist', classes: [3], count: 20 })).id;
    await h.storage.put(`${h.uploads}table.csv`, irisLikeCsv());
    ids.table = (await createDataset(h.app, 'table', { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}table.csv`, format: 'csv', labelColumn: 'species' })).id;
    const uri = await uploadTinyModel(h.storage, `${h.uploads}tiny/`);
    ids.model = (await http(h.app).post('/v1/models').send({ name: 'tiny', uri })).body.id;
  });
  after(async () => {
    await queue?.close();
    await redis?.quit();
    await h?.close();
  });

  async function expectNoJobs() {
    assert.equal(await h.db.job.count(), 0, 'no job row left behind');
    assert.equal(await queue.count(), 0, 'nothing enqueued');
  }

  async function expectError(res: { status: number; body: any }, status: number, code: string) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code, JSON.stringify(res.body));
    assert.equal(typeof res.body.error.message, 'string');
  }

  it('malformed JSON is a 400 invalid_json', async () => {
    const res = await http(h.app).post('/v1/jobs').set('content-type', 'application/json').send('{"type": "finetune",');
    await expectError(res, 400, 'invalid_json');
    await expectNoJobs();
  });

  it('a body that breaks the schema is a 400 validation_failed with details', async () => {
    const res = await http(h.app).post('/v1/jobs').send({ trainDatasetId: ids.table, baseModelId: ids.model, hyperparameters: { epochs: -1 } });
    await expectError(res, 400, 'validation_failed');
    assert.ok(Array.isArray(res.body.error.details));
    const unknownField = await http(h.app).post('/v1/jobs').send({ trainDatasetId: ids.table, baseModelId: ids.model, bogus: 1 });
    await expectError(unknownField, 400, 'validation_failed');
    const badLayer = await http(h.app).post('/v1/jobs').send({ trainDatasetId: ids.table, baseModelId: ids.model, head: [{ type: 'lambda' }] });
    await expectError(badLayer, 400, 'validation_failed');
    await expectNoJobs();
  });

  it('an unknown model id is a 422 model_not_found', async () => {
    const res = await http(h.app).post('/v1/jobs').send({ trainDatasetId: ids.table, baseModelId: '00000000-0000-4000-8000-000000000000' });
    await expectError(res, 422, 'model_not_found');
    const ds = await http(h.app).post('/v1/jobs').send({ trainDatasetId: '00000000-0000-4000-8000-000000000000', baseModelId: ids.model });
    await expectError(ds, 422, 'dataset_not_found');
    await expectNoJobs();
  });

  it('a test set whose labels are not the training labels is a 422 label_mismatch', async () => {
    const res = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: tinyMlp(5), trainDatasetId: ids.digits, testDatasetId: ids.other });
    await expectError(res, 422, 'label_mismatch');
    assert.deepEqual(res.body.error.details.unknownLabels, ['5', '6', '7', '8', '9']);
    await expectNoJobs();
  });

  it('a dataset whose shape does not fit the model is a 422 input_shape_mismatch', async () => {
    const res = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.digits });
    await expectError(res, 422, 'input_shape_mismatch');
    const mixed = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, validationDatasetId: ids.digits });
    await expectError(mixed, 422, 'input_shape_mismatch');
    await expectNoJobs();
  });

  it('an impossible cut layer is a 422 cut_layer_not_found', async () => {
    const res = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, cutLayer: 'conv_99' });
    await expectError(res, 422, 'cut_layer_not_found');
    assert.deepEqual(res.body.error.details.layers, ['hidden', 'out']);
    await expectNoJobs();
  });

  it('a head with the wrong class count, or one that cannot be built, is a 422', async () => {
    const wrong = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, head: [{ type: 'dense', units: 7, activation: 'softmax' }] });
    await expectError(wrong, 422, 'class_count_mismatch');
    const conv = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, head: [{ type: 'conv2d', filters: 2, kernelSize: 3 }, { type: 'dense', units: 3 }] });
    await expectError(conv, 422, 'layer_not_buildable');
    const tooBig = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', trainDatasetId: ids.digits, architecture: [{ type: 'conv2d', filters: 2, kernelSize: 29 }, { type: 'flatten' }, { type: 'dense', units: 5 }] });
    await expectError(tooBig, 422, 'layer_not_buildable');
    const oneClass = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', trainDatasetId: ids.oneClass, architecture: tinyMlp(1) });
    await expectError(oneClass, 422, 'dataset_single_class');
    const tooManyBlocks = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, freeze: { unfreezeTop: 5 } });
    await expectError(tooManyBlocks, 422, 'invalid_freeze');
    const badCutIndex = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, cutLayer: 9 });
    await expectError(badCutIndex, 422, 'cut_layer_not_found');
    const badSchedule = await http(h.app).post('/v1/jobs').send({ baseModelId: ids.model, trainDatasetId: ids.table, hyperparameters: { schedule: { type: 'step', everyEpochs: 0, factor: 2 } } });
    await expectError(badSchedule, 400, 'validation_failed');
    const huge = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', trainDatasetId: ids.digits, architecture: [{ type: 'flatten' }, { type: 'dense', units: 65536 }, { type: 'dense', units: 65536 }, { type: 'dense', units: 5 }] });
    await expectError(huge, 422, 'model_too_large');
    const mixedKinds = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', trainDatasetId: ids.digits, architecture: tinyMlp(5), baseModelId: ids.model });
    await expectError(mixedKinds, 422, 'invalid_spec');
    await expectNoJobs();
  });

  it('bad dataset files get a 400 that names the row or column, and no record', async () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['f0,f1,label\n1,2,a\n3,NaN,b\n', 'dataset_invalid', { row: 2, column: 'f1' }],
      ['f0,f1,label\n1,2,a\n3,Infinity,b\n', 'dataset_invalid', { row: 2, column: 'f1' }],
      ['f0,f1,label\n1,2\n', 'dataset_invalid', { row: 1 }],
      ['f0,f1,label\n', 'dataset_invalid', {}],
      ['f0,f0,label\n1,2,a\n', 'dataset_invalid', { column: 'f0' }],
      ['f0,f1,label\n1,1e39,a\n', 'dataset_invalid', { row: 1, column: 'f1' }],
      ['f0,f1,label\n1,0x10,a\n', 'dataset_invalid', { row: 1, column: 'f1' }],
      // RFC 4180: an unterminated quote is an error, not data (the hand-written parser took it as data).
      ['f0,f1,label\n1,2,a\n3,4,"b\n', 'dataset_invalid', { row: 2 }],
      ['f0,f1,label\n1,2"x,a\n', 'dataset_invalid', { row: 1 }],
    ];
    for (const [i, [csv, code, details]] of cases.entries()) {
      await h.storage.put(`${h.uploads}bad-${i}.csv`, csv);
      const res = await http(h.app).post('/v1/datasets').send({ name: 'bad', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}bad-${i}.csv`, format: 'csv', labelColumn: 'label' } });
      await expectError(res, 400, code);
      for (const [k, v] of Object.entries(details)) assert.equal(res.body.error.details[k], v, JSON.stringify(res.body));
    }
    await h.storage.put(`${h.uploads}big.csv`, 'f0,label\n' + '1.5,a\n'.repeat(1000));
    const big = await http(h.app).post('/v1/datasets').send({ name: 'big', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}big.csv`, format: 'csv', labelColumn: 'label' } });
    await expectError(big, 413, 'object_too_large');
    assert.equal(big.body.error.details.limit, 4096);
    const noLabel = await http(h.app).post('/v1/datasets').send({ name: 'x', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}table.csv`, format: 'csv', labelColumn: 'nope' } });
    await expectError(noLabel, 400, 'dataset_invalid');
    assert.equal(noLabel.body.error.details.column, 'nope');
    const missing = await http(h.app).post('/v1/datasets').send({ name: 'x', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}none.csv`, format: 'csv', labelColumn: 'l' } });
    await expectError(missing, 404, 'object_not_found');
    const traversal = await http(h.app).post('/v1/datasets').send({ name: 'x', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}../table.csv`, format: 'csv', labelColumn: 'species' } });
    await expectError(traversal, 400, 'invalid_s3_uri');
    // Labels are data, even when they are the names of object properties.
    await h.storage.put(`${h.uploads}protos.csv`, 'f0,label\n1,constructor\n2,__proto__\n3,toString\n4,constructor\n');
    const protos = await http(h.app).post('/v1/datasets').send({ name: 'protos', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}protos.csv`, format: 'csv', labelColumn: 'label' } });
    assert.equal(protos.status, 201, JSON.stringify(protos.body));
    assert.deepEqual(protos.body.classCounts, [{ label: '__proto__', count: 1 }, { label: 'constructor', count: 2 }, { label: 'toString', count: 1 }]);
    // RFC 4180 quoting: commas, doubled quotes and line breaks inside quoted fields are data (the
    // hand-written parser split such a row in two and refused it as ragged). Formula-like labels are data too.
    const quoted = 'f0,note,f1,label\r\n1,"a, ""b""\nand c",2,=cmd|\' /C calc\'!A0\r\n3,plain,4,"+SUM(1,2)"\r\n5,"",6,@x\r\n';
    await h.storage.put(`${h.uploads}quoted.csv`, quoted);
    const ok = await http(h.app).post('/v1/datasets').send({ name: 'quoted', source: { type: 's3', uri: `s3://${h.storage.bucket}/${h.uploads}quoted.csv`, format: 'csv', labelColumn: 'label', featureColumns: ['f0', 'f1'] } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.numExamples, 3);
    assert.deepEqual(ok.body.labels, ["+SUM(1,2)", "=cmd|' /C calc'!A0", '@x']);
    assert.equal((await http(h.app).get('/v1/datasets')).status, 200);
    assert.equal(await h.db.dataset.count(), 6, 'only the good datasets exist');
    // Each good CSV is stored as its shards under datasets/<id>/: three prefixes, nothing of the refused ones.
    const stored = new Set((await h.storage.list('datasets/')).map((o) => o.key.split('/')[1]));
    assert.equal(stored.size, 3, 'only the good CSVs were stored');
  });

  it('unknown ids and routes are 404s with the error shape', async () => {
    await expectError(await http(h.app).get('/v1/jobs/00000000-0000-4000-8000-000000000000'), 404, 'job_not_found');
    await expectError(await http(h.app).get('/v1/models/00000000-0000-4000-8000-000000000000'), 404, 'model_not_found');
    await expectError(await http(h.app).get('/v1/datasets/00000000-0000-4000-8000-000000000000'), 404, 'dataset_not_found');
    await expectError(await http(h.app).get('/v1/jobs/not-a-uuid'), 400, 'validation_failed');
    await expectError(await http(h.app).get('/v1/nothing'), 404, 'route_not_found');
    await expectError(await http(h.app).get('/v1/jobs?after=garbage'), 400, 'invalid_cursor');
    const dashes = Buffer.from(`${new Date().toISOString()}|${'-'.repeat(36)}`).toString('base64url');
    await expectError(await http(h.app).get(`/v1/jobs?after=${dashes}`), 400, 'invalid_cursor');
    await expectError(await http(h.app).get('/v1/jobs/urn:uuid:00000000-0000-4000-8000-000000000000'), 400, 'validation_failed');
  });
});
