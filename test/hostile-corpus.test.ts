// A corpus of hostile inputs, one row each: the request, the 4xx it must get
// and its stable error code. After the lot, the service still answers, and the
// refused requests left nothing behind: no dataset, model or job row, no queue
// entry, and no object under the service's own prefixes in S3.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { createRedis } from '../apps/shared/queue/contract.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http, registerSettled, tinyMlp } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { bombPng, solid } from './helpers/images.ts';
import { CYCLE_MODEL_JSON, DANGLING_INPUT_MODEL_JSON, NODE_INDEX_MODEL_JSON, STRING_DIMENSION_MODEL_JSON } from './helpers/hostile-models.ts';
import { uploadPrefix } from '../apps/shared/storage/upload-area.ts';
import type { AddressInfo } from 'node:net';
import { rawRequest } from './helpers/raw-http.ts';
import { ERROR_CODES } from '../apps/api/src/schemas/errors.ts';

const ZERO = '00000000-0000-4000-8000-000000000000';

interface Case {
  name: string;
  status: number;
  code: string;
  send: () => PromiseLike<{ status: number; body: any }>;
  /** More to assert about the error's details (and the whole response). */
  check?: (details: any, res?: any) => void;
}

/** Refused from the topology and manifest alone, before tfjs allocated anything. */
const beforeAllocation = (d: any) => assert.ok(d?.implied > d?.declared, JSON.stringify(d));

describe('hostile input corpus', () => {
  let h: Harness;
  let queue: Queue;
  let redis: ReturnType<typeof createRedis>;
  const ids: Record<string, string> = {};
  let baseline: { datasets: number; models: number; jobs: number; objects: string[] };
  let tiny: { json: any; weights: Uint8Array };
  let port: number;

  // ---------------------------------------------------------------- helpers for the rows
  const api = () => http(h.app);
  const bucket = () => h.storage.bucket;
  const rawJson = (url: string, body: string, type = 'application/json') => api().post(url).set('content-type', type).send(body);
  /** An image source answers 202 and fails in the background: followed to its end, it reads as the 4xx it failed with. */
  const dataset = (source: Record<string, unknown>, name: unknown = 'hostile') => registerSettled(h.app, { name, source });
  const mnist = (extra: Record<string, unknown>) => dataset({ type: 'mnist', ...extra });
  /** Uploads `body` under uploads/ and registers it as a CSV (or NDJSON) dataset. */
  const file = async (key: string, body: string | Uint8Array, format: 'csv' | 'ndjson' = 'csv', labelColumn = 'label') => {
    await h.storage.put(`${h.uploads}${key}`, body);
    return dataset({ type: 's3', uri: `s3://${bucket()}/${h.uploads}${key}`, format, labelColumn });
  };
  const s3Uri = (uri: string) => dataset({ type: 's3', uri, format: 'csv', labelColumn: 'label' });
  /** Uploads two good PNGs in class a, and `bad` and a good one in class b under uploads/<dir>/, and registers the folder as images. */
  const imageFolder = async (dir: string, bad: Uint8Array | string, preprocess: Record<string, unknown> = { size: [16, 16] }) => {
    const good = await solid(20, 20, [9, 99, 199]).png().toBuffer();
    for (const key of ['a/good-1.png', 'a/good-2.png', 'b/good.png']) await h.storage.put(`${h.uploads}${dir}/${key}`, good);
    await h.storage.put(`${h.uploads}${dir}/b/bad`, bad);
    return dataset({ type: 'images', layout: 'folders', uri: `s3://${bucket()}/${h.uploads}${dir}/`, preprocess });
  };
  /** Good PNGs under uploads/<dir>/ and a JSONL manifest listing [key, label] rows of them. */
  const imageManifest = async (dir: string, rows: Array<[string, string]>) => {
    const good = await solid(20, 20, [9, 99, 199]).png().toBuffer();
    for (const [key] of rows) await h.storage.put(`${h.uploads}${dir}/${key}`, good);
    const uri = (key: string) => `s3://${bucket()}/${h.uploads}${dir}/${key}`;
    await h.storage.put(`${h.uploads}${dir}/manifest.jsonl`, rows.map(([key, label]) => JSON.stringify({ uri: uri(key), label })).join('\n'));
    return dataset({ type: 'images', layout: 'manifest', uri: uri('manifest.jsonl'), preprocess: { size: [8, 8] } });
  };
  const namesBadImage = (dir: string) => (d: any, res?: any) => assert.ok(res?.body.error.message.includes(`${h.uploads}${dir}/b/bad`), JSON.stringify(d));
  const job = (body: Record<string, unknown>) => api().post('/v1/jobs').send(body);
  const pretrain = (over: Record<string, unknown> = {}) => job({ type: 'pretrain', architecture: tinyMlp(5), trainDatasetId: ids.digits, ...over });
  const hp = (hyperparameters: Record<string, unknown>) => pretrain({ hyperparameters });
  const webhook = (url: string) => pretrain({ webhook: { url, secret: 'a-webhook-secret-0123456789' } });
  /** Uploads a model under uploads/<key>/ after `mutate` has had its way with tiny's files. */
  const model = async (key: string, mutate: (json: any, weights: Uint8Array) => { json?: any; weights?: Uint8Array; raw?: string } | void) => {
    const json = structuredClone(tiny.json);
    const out = mutate(json, tiny.weights) ?? {};
    await h.storage.put(`${h.uploads}${key}/weights.bin`, out.weights ?? tiny.weights);
    await h.storage.put(`${h.uploads}${key}/model.json`, out.raw ?? JSON.stringify(out.json ?? json));
    return api().post('/v1/models').send({ name: 'hostile', uri: `s3://${bucket()}/${h.uploads}${key}/model.json` });
  };
  /** Uploads a model.json as it is, with zero weights of the size its manifest declares. */
  const rawModel = async (key: string, json: any) => {
    const bytes = json.weightsManifest[0].weights.reduce((n: number, w: any) => n + 4 * w.shape.reduce((a: number, b: number) => a * b, 1), 0);
    await h.storage.put(`${h.uploads}${key}/weights.bin`, new Uint8Array(bytes));
    await h.storage.put(`${h.uploads}${key}/model.json`, JSON.stringify(json));
    return api().post('/v1/models').send({ name: 'hostile', uri: `s3://${bucket()}/${h.uploads}${key}/model.json` });
  };
  /** The fault, and the layer at fault, that a model_invalid names. */
  const fault = (kind: string, at?: string) => (d: any) => assert.deepEqual([d?.fault, d?.layer], [kind, at], JSON.stringify(d));
  /** A registration from a key in our bucket outside the caller's upload area. */
  const ourKey = (kind: 'model' | 'dataset', key: string) =>
    kind === 'model' ? api().post('/v1/models').send({ name: 'copy', uri: `s3://${bucket()}/${key}` }) : s3Uri(`s3://${bucket()}/${key}`);
  const outsideArea = (d: any) => assert.deepEqual(d, { allowed: [`s3://${bucket()}/${h.uploads}`] });
  /** Raw bytes on a socket of their own: requests that no HTTP client would send. */
  const raw = (bytes: string | Buffer) => rawRequest(port, bytes);
  const auth = () => `Authorization: Bearer ${h.tenant.apiKey}\r\n`;
  /** The connection closes, and nothing of the request is echoed back. */
  const closedQuietly = (echo?: string) => (_d: unknown, res?: any) => {
    assert.equal(res?.headers?.connection?.toLowerCase(), 'close');
    if (echo) assert.ok(!JSON.stringify(res.body).includes(echo), 'the request is not echoed back');
  };
  const weightSpec = (json: any, i: number) => json.weightsManifest[0].weights[i];
  const layer = (json: any, i: number) => json.modelTopology.model_config?.config.layers[i] ?? json.modelTopology.config.layers[i];

  const cases: Case[] = [
    // ------------------------------------------------------------ malformed bodies and wrong types
    { name: 'truncated JSON', status: 400, code: 'invalid_json', send: () => rawJson('/v1/jobs', '{"type": "finetune",') },
    { name: 'JSON followed by garbage', status: 400, code: 'invalid_json', send: () => rawJson('/v1/datasets', '{"name":"x"} trailing') },
    { name: 'an empty JSON body', status: 400, code: 'empty_body', send: () => rawJson('/v1/datasets', '') },
    { name: 'a JSON array instead of an object', status: 400, code: 'validation_failed', send: () => rawJson('/v1/jobs', '[]') },
    { name: 'a bare JSON string', status: 400, code: 'validation_failed', send: () => rawJson('/v1/datasets', '"mnist"') },
    { name: 'a text body where an object is expected', status: 400, code: 'validation_failed', send: () => rawJson('/v1/datasets', 'name=x', 'text/plain') },
    { name: 'an XML body', status: 415, code: 'unsupported_media_type', send: () => rawJson('/v1/datasets', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', 'application/xml') },
    { name: '__proto__ in the body', status: 400, code: 'invalid_json', send: () => rawJson('/v1/datasets', '{"name":"x","source":{"type":"mnist"},"__proto__":{"isAdmin":true}}') },
    { name: 'constructor.prototype in the body', status: 400, code: 'invalid_json', send: () => rawJson('/v1/datasets', '{"name":"x","source":{"type":"mnist"},"constructor":{"prototype":{"isAdmin":true}}}') },
    { name: 'JSON nested 100000 deep', status: 400, code: 'validation_failed', send: () => rawJson('/v1/jobs', '['.repeat(100_000) + ']'.repeat(100_000)) },
    { name: 'an object for a name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist' }, { toString: 'x' }) },
    { name: 'an array for a source', status: 400, code: 'validation_failed', send: () => api().post('/v1/datasets').send({ name: 'x', source: [{ type: 'mnist' }] }) },
    { name: 'null for a name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist' }, null) },
    { name: 'an unknown field', status: 400, code: 'validation_failed', send: () => pretrain({ isAdmin: true }) },
    { name: 'an unknown source type', status: 400, code: 'validation_failed', send: () => dataset({ type: 'file', path: '/etc/passwd' }) },
    // Image datasets (docs/datasets.md): one bad object refuses the collection, naming it.
    { name: 'a zero-byte image', status: 400, code: 'image_invalid', send: () => imageFolder('img-empty', new Uint8Array(0)), check: namesBadImage('img-empty') },
    { name: 'a text file among the images', status: 400, code: 'image_invalid', send: () => imageFolder('img-text', 'uri,label\n'), check: namesBadImage('img-text') },
    { name: 'a truncated JPEG', status: 400, code: 'image_invalid', send: async () => imageFolder('img-cut', (await solid(64, 64, [1, 2, 3]).jpeg().toBuffer()).subarray(0, 200)), check: namesBadImage('img-cut') },
    { name: 'an SVG among the images', status: 400, code: 'image_invalid', send: () => imageFolder('img-svg', '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="file:///etc/passwd"/></svg>'), check: namesBadImage('img-svg') },
    { name: 'an image header claiming 3.6 gigapixels', status: 413, code: 'image_too_large', send: () => imageFolder('img-bomb', bombPng(60_000, 60_000)), check: (d) => assert.equal(d.actual, 3_600_000_000) },
    { name: 'an image size over 512 a side', status: 400, code: 'validation_failed', send: () => imageFolder('img-huge', 'x', { size: [513, 16] }) },
    { name: 'a class folder with one image (a split needs two)', status: 400, code: 'dataset_class_too_small', send: () => imageManifest('img-one', [['a/1.png', 'a'], ['a/2.png', 'a'], ['b/1.png', 'b']]), check: (d) => assert.deepEqual([d.label, d.count, d.minimum], ['b', 1, 2]) },
    { name: 'the same image uri twice in a manifest', status: 400, code: 'dataset_invalid', send: () => imageManifest('img-dup', [['a/1.png', 'a'], ['a/2.png', 'a'], ['a/1.png', 'b'], ['b/1.png', 'b']]), check: (d) => assert.equal(d.row, 3) },
    { name: 'an image label with control characters', status: 400, code: 'dataset_invalid', send: () => imageManifest('img-ctl', [['a/1.png', 'a'], ['a/2.png', 'a'], ['b/1.png', 'b\u001b[2J'], ['b/2.png', 'b\u001b[2J']]), check: (d) => assert.equal(d.row, 3) },
    { name: 'a job on a dataset whose registration failed', status: 409, code: 'dataset_not_ready', send: () => pretrain({ trainDatasetId: ids.failedImages }), check: (d) => assert.equal(d.status, 'failed') },
    { name: "an image prefix in the service's own datasets/", status: 422, code: 'source_key_not_allowed', send: () => dataset({ type: 'images', layout: 'folders', uri: `s3://${bucket()}/datasets/`, preprocess: { size: [8, 8] } }) },

    // ------------------------------------------------------------ huge, negative and non-finite numbers
    { name: 'negative epochs', status: 400, code: 'validation_failed', send: () => hp({ epochs: -1 }) },
    { name: 'zero epochs', status: 400, code: 'validation_failed', send: () => hp({ epochs: 0 }) },
    { name: 'a billion epochs', status: 400, code: 'validation_failed', send: () => hp({ epochs: 1e9 }) },
    { name: 'fractional epochs', status: 400, code: 'validation_failed', send: () => hp({ epochs: 1.5 }) },
    { name: 'epochs as a word', status: 400, code: 'validation_failed', send: () => hp({ epochs: 'many' }) },
    { name: '"NaN" for a learning rate', status: 400, code: 'validation_failed', send: () => hp({ learningRate: 'NaN' }) },
    { name: 'a learning rate of 1e308', status: 400, code: 'validation_failed', send: () => hp({ learningRate: 1e308 }) },
    { name: 'a negative learning rate', status: 400, code: 'validation_failed', send: () => hp({ learningRate: -0.1 }) },
    { name: 'a batch size of 0', status: 400, code: 'validation_failed', send: () => hp({ batchSize: 0 }) },
    { name: 'a batch size of 2^53', status: 400, code: 'validation_failed', send: () => hp({ batchSize: 2 ** 53 }) },
    { name: 'a negative seed', status: 400, code: 'validation_failed', send: () => hp({ seed: -1 }) },
    { name: 'a class weight of 1e300 via a raw body', status: 400, code: 'validation_failed', send: () => rawJson('/v1/jobs', `{"type":"pretrain","architecture":[{"type":"flatten"},{"type":"dense","units":5}],"trainDatasetId":"${ids.digits}","hyperparameters":{"classWeights":{"0":1e300}}}`) },
    { name: 'a negative MNIST count', status: 400, code: 'validation_failed', send: () => mnist({ count: -1 }) },
    { name: 'an MNIST count of 1e12', status: 400, code: 'validation_failed', send: () => mnist({ count: 1e12 }) },
    { name: 'a page size of -1', status: 400, code: 'validation_failed', send: () => api().get('/v1/jobs?limit=-1') },
    { name: 'a page size of 1e9', status: 400, code: 'page_size_exceeded', send: () => api().get('/v1/datasets?limit=1000000000') },
    { name: 'an events cursor past 2^63', status: 400, code: 'validation_failed', send: () => api().get(`/v1/jobs/${ZERO}/events?after=99999999999999999999`) },

    // ------------------------------------------------------------ NaN, Infinity and other poison in data files
    { name: 'NaN in a CSV', status: 400, code: 'dataset_invalid', send: () => file('nan.csv', 'f0,f1,label\n1,2,a\n3,NaN,b\n') },
    { name: 'Infinity in a CSV', status: 400, code: 'dataset_invalid', send: () => file('inf.csv', 'f0,f1,label\n1,Infinity,a\n3,4,b\n') },
    { name: '-Infinity in a CSV', status: 400, code: 'dataset_invalid', send: () => file('ninf.csv', 'f0,f1,label\n1,-Infinity,a\n3,4,b\n') },
    { name: 'a number past float32 in a CSV', status: 400, code: 'dataset_invalid', send: () => file('big.csv', 'f0,f1,label\n1,1e400,a\n3,4,b\n') },
    { name: 'NaN as a JSON number in NDJSON', status: 400, code: 'dataset_invalid', send: () => file('nan.ndjson', '{"x":1,"label":"a"}\n{"x":NaN,"label":"b"}\n', 'ndjson') },
    { name: 'an object as a feature in NDJSON', status: 400, code: 'dataset_invalid', send: () => file('obj.ndjson', '{"x":{"y":1},"label":"a"}\n', 'ndjson') },
    { name: 'an NDJSON line that is an array', status: 400, code: 'dataset_invalid', send: () => file('arr.ndjson', '[1,2,3]\n', 'ndjson') },
    { name: 'a ragged CSV row', status: 400, code: 'dataset_invalid', send: () => file('ragged.csv', 'f0,f1,label\n1,2\n') },
    { name: 'an NDJSON row nested 100000 deep (issue 12: a 500 from a stack overflow)', status: 400, code: 'dataset_invalid', send: () => file('deep.ndjson', `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)},"label":"x"}\n{"a":1,"label":"y"}\n`, 'ndjson'), check: (d) => assert.equal(d.row, 1) },
    { name: 'an NDJSON feature nested 17 deep', status: 400, code: 'dataset_invalid', send: () => file('deep17.ndjson', `{"x":${'['.repeat(17)}1${']'.repeat(17)},"label":"a"}\n`, 'ndjson') },
    { name: 'an unterminated quote in a CSV (issue 12: taken as data)', status: 400, code: 'dataset_invalid', send: () => file('open-quote.csv', 'f0,label\n1,a\n2,"b\n3,c\n'), check: (d) => assert.equal(d.row, 2) },
    { name: 'a quote inside an unquoted CSV field', status: 400, code: 'dataset_invalid', send: () => file('stray-quote.csv', 'f0,label\n1,a"b\n') },
    { name: 'a CSV of 200000 classes (issue 12: 7.8 MB on every read)', status: 413, code: 'dataset_too_many_classes', send: () => file('classes.csv', `f0,label\n${Array.from({ length: 200_000 }, (_, i) => `${i % 7},c${i}`).join('\n')}\n`), // Streamed registration stops at the first label past the limit (counting all 200,000 would hold them all).
      check: (d) => assert.deepEqual(d, { setting: 'MAX_DATASET_CLASSES', limit: 1000, actual: 1001 }) },
    { name: 'a binary file posing as CSV', status: 400, code: 'dataset_invalid', send: () => file('binary.csv', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x2c, 0x0a, 0x2c])) },

    // ------------------------------------------------------------ empty, one-class and out-of-range labels
    { name: 'an empty file', status: 400, code: 'dataset_invalid', send: () => file('empty.csv', '') },
    { name: 'a CSV with only a header', status: 400, code: 'dataset_invalid', send: () => file('header.csv', 'f0,f1,label\n') },
    { name: 'an MNIST selection with no examples', status: 400, code: 'dataset_empty', send: () => mnist({ classes: [0], offset: 60_000 }) },
    { name: 'a job on a one-class dataset', status: 422, code: 'dataset_single_class', send: () => pretrain({ trainDatasetId: ids.oneClass, architecture: tinyMlp(1) }) },
    { name: 'an MNIST label of 10', status: 400, code: 'validation_failed', send: () => mnist({ classes: [10] }) },
    { name: 'an MNIST label of -1', status: 400, code: 'validation_failed', send: () => mnist({ classes: [-1] }) },
    { name: 'the same MNIST label twice', status: 400, code: 'validation_failed', send: () => mnist({ classes: [1, 1] }) },
    { name: 'no MNIST labels', status: 400, code: 'validation_failed', send: () => mnist({ classes: [] }) },
    { name: 'a test set with labels the training set lacks', status: 422, code: 'label_mismatch', send: () => pretrain({ testDatasetId: ids.otherDigits }) },
    { name: 'an output layer with more units than classes', status: 422, code: 'class_count_mismatch', send: () => pretrain({ architecture: tinyMlp(7) }) },
    { name: 'a CSV label holding a NUL', status: 400, code: 'dataset_invalid', send: () => file('nul-label.csv', 'f0,label\n1,a\n2,b\u0000c\n') },
    { name: 'a CSV label holding a terminal escape', status: 400, code: 'dataset_invalid', send: () => file('ansi-label.csv', 'f0,label\n1,a\n2,\u001b[2J\u001b[31mb\n') },
    { name: 'a CSV column named with a NUL', status: 400, code: 'dataset_invalid', send: () => file('nul-col.csv', 'f\u00000,label\n1,a\n2,b\n') },

    // ------------------------------------------------------------ unicode and control characters in names
    { name: 'a NUL in a dataset name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist', classes: [0, 1], count: 10 }, 'a\u0000b') },
    { name: 'a terminal escape in a dataset name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist', classes: [0, 1], count: 10 }, '\u001b[31mred') },
    { name: 'a right-to-left override in a dataset name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist', classes: [0, 1], count: 10 }, 'invoice\u202Efdp.exe') },
    { name: 'a lone surrogate in a dataset name', status: 400, code: 'validation_failed', send: () => rawJson('/v1/datasets', '{"name":"a\\ud800b","source":{"type":"mnist","classes":[0,1],"count":10}}') },
    { name: 'an empty name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist' }, '') },
    { name: 'a 10000-character name', status: 400, code: 'validation_failed', send: () => dataset({ type: 'mnist' }, 'x'.repeat(10_000)) },
    { name: 'a newline in a job name', status: 400, code: 'validation_failed', send: () => pretrain({ name: 'line1\nline2' }) },
    { name: 'a NUL in a class-weight label', status: 400, code: 'validation_failed', send: () => hp({ classWeights: { 'a\u0000': 1 } }) },
    { name: 'a NUL in a model name', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: '\u0000', uri: `s3://${bucket()}/${h.uploads}tiny/model.json` }) },
    { name: 'a NUL in a model label', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${h.uploads}tiny/model.json`, labels: ['a', 'b\u0000'] }) },
    { name: 'a NUL in a label column name', status: 400, code: 'validation_failed', send: () => dataset({ type: 's3', uri: `s3://${bucket()}/${h.uploads}table.csv`, format: 'csv', labelColumn: 'species\u0000' }) },
    { name: 'unicode that is fine in a name, in a job that is not', status: 422, code: 'dataset_not_found', send: () => pretrain({ name: 'Données 数据 🚀', trainDatasetId: ZERO }) },

    // ------------------------------------------------------------ path traversal in names, keys and ids
    { name: '../ in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${h.uploads}../datasets/x.csv`) },
    { name: './ in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${h.uploads}./table.csv`) },
    { name: 'a backslash traversal in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${h.uploads}..\\..\\etc\\passwd`) },
    { name: 'a NUL in an S3 key', status: 400, code: 'validation_failed', send: () => s3Uri(`s3://${bucket()}/${h.uploads}table.csv\u0000.png`) },
    { name: 'a percent-encoded traversal in an S3 key', status: 404, code: 'object_not_found', send: () => s3Uri(`s3://${bucket()}/${h.uploads}%2e%2e/%2e%2e/etc/passwd`) },
    { name: 'another bucket', status: 422, code: 'source_bucket_not_allowed', send: () => s3Uri('s3://someone-elses-bucket/data.csv') },
    { name: 'a percent-encoded traversal outside the upload area', status: 422, code: 'source_key_not_allowed', send: () => s3Uri(`s3://${bucket()}/uploads/%2e%2e/%2e%2e/etc/passwd`), check: outsideArea },

    // ------------------------------------------------------------ our bucket outside the caller's upload area (issue 12: cross-tenant copies)
    { name: "a registered model's own files (models/)", status: 422, code: 'source_key_not_allowed', send: () => ourKey('model', `models/${ids.model}/model.json`), check: outsideArea },
    { name: "a job's checkpoint (jobs/)", status: 422, code: 'source_key_not_allowed', send: () => ourKey('model', `jobs/${ZERO}/checkpoints/epoch-1/model.json`), check: outsideArea },
    { name: "a registered dataset's snapshot (datasets/)", status: 422, code: 'source_key_not_allowed', send: () => ourKey('dataset', `datasets/${ids.table}/data.csv`), check: outsideArea },
    { name: 'the feature cache (cache/)', status: 422, code: 'source_key_not_allowed', send: () => ourKey('dataset', 'cache/features/0000/features.csv'), check: outsideArea },
    { name: "another tenant's upload area", status: 422, code: 'source_key_not_allowed', send: () => ourKey('dataset', `${ids.foreignArea}table.csv`), check: outsideArea },
    { name: "another tenant's uploaded model", status: 422, code: 'source_key_not_allowed', send: () => ourKey('model', `${ids.foreignArea}tiny/model.json`), check: outsideArea },
    { name: 'the root of uploads/, outside every area', status: 422, code: 'source_key_not_allowed', send: () => ourKey('dataset', 'uploads/table.csv'), check: outsideArea },
    { name: 'a key at the bucket root', status: 422, code: 'source_key_not_allowed', send: () => ourKey('dataset', 'table.csv'), check: outsideArea },
    { name: 'a file:// source', status: 400, code: 'validation_failed', send: () => s3Uri('file:///etc/passwd') },
    { name: 'an http source at the metadata service', status: 400, code: 'validation_failed', send: () => s3Uri('http://169.254.169.254/latest/meta-data/') },
    { name: '../ in a model URI', status: 400, code: 'invalid_s3_uri', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${h.uploads}../models/x/model.json` }) },
    { name: 'a model URI that is not model.json', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${h.uploads}tiny/weights.bin` }) },
    { name: 'traversal as a model file name', status: 400, code: 'validation_failed', send: () => api().get(`/v1/models/${ids.model}/..%2F..%2Fjobs`) },
    { name: 'an unknown model file name', status: 400, code: 'validation_failed', send: () => api().get(`/v1/models/${ids.model}/secrets.txt`) },
    { name: 'traversal as an id', status: 400, code: 'validation_failed', send: () => api().get('/v1/jobs/..%2F..%2Fadmin') },
    { name: 'SQL in an id', status: 400, code: 'validation_failed', send: () => api().get(`/v1/datasets/${encodeURIComponent("' OR 1=1 --")}`) },

    // ------------------------------------------------------------ model files: truncated, lying, unknown, absurd
    { name: 'a truncated weight shard', status: 422, code: 'model_invalid', send: () => model('truncated', (_j, w) => ({ weights: w.slice(0, w.byteLength - 4) })) },
    { name: 'a weight shard longer than its manifest', status: 413, code: 'object_too_large', send: () => model('long', (_j, w) => ({ weights: Buffer.concat([w, Buffer.alloc(4)]) })) },
    { name: 'a manifest that transposes a kernel (same bytes, wrong shape)', status: 422, code: 'model_invalid', send: () => model('transposed', (j) => void (weightSpec(j, 0).shape = [8, 4])) },
    { name: 'a manifest with a negative dimension', status: 422, code: 'model_invalid', send: () => model('negative', (j) => void (weightSpec(j, 1).shape = [-8])) },
    { name: 'a manifest with a fractional dimension', status: 422, code: 'model_invalid', send: () => model('fraction', (j) => void (weightSpec(j, 1).shape = [8.5])) },
    { name: 'a manifest with a billion-long dimension', status: 422, code: 'model_invalid', send: () => model('billion', (j) => void (weightSpec(j, 1).shape = [1e9])) },
    { name: 'a manifest whose sizes multiply past any limit', status: 422, code: 'model_too_large', send: () => model('overflow', (j) => void (weightSpec(j, 0).shape = [1e8, 1e8, 1e8])) },
    { name: 'an unknown dtype', status: 422, code: 'model_invalid', send: () => model('dtype', (j) => void (weightSpec(j, 1).dtype = 'complex64')) },
    { name: 'a shard path with ../', status: 422, code: 'model_invalid', send: () => model('shard-traversal', (j) => void (j.weightsManifest[0].paths = ['../../datasets/x/data.csv'])) },
    { name: 'a shard path at the metadata service', status: 422, code: 'model_invalid', send: () => model('shard-url', (j) => void (j.weightsManifest[0].paths = ['http://169.254.169.254/latest/meta-data'])) },
    { name: 'an absolute shard path', status: 422, code: 'model_invalid', send: () => model('shard-abs', (j) => void (j.weightsManifest[0].paths = ['/etc/passwd'])) },
    { name: 'a Lambda layer', status: 422, code: 'model_invalid', send: () => model('lambda', (j) => void (layer(j, 1).class_name = 'Lambda')) },
    { name: 'a custom layer class', status: 422, code: 'model_invalid', send: () => model('custom', (j) => void (layer(j, 1).class_name = 'MyEvalLayer')) },
    { name: 'a nested model as a layer', status: 422, code: 'model_invalid', send: () => model('nested', (j) => void (layer(j, 1).class_name = 'Sequential')) },
    { name: 'a 1e9-unit dense layer, declared', status: 422, code: 'model_invalid', send: () => model('dense-1e9', (j) => { layer(j, 1).config.units = 1e9; weightSpec(j, 2).shape = [8, 1e9]; weightSpec(j, 3).shape = [1e9]; }) },
    { name: 'a 1e8-unit dense layer the manifest hides', status: 422, code: 'model_invalid', send: () => model('dense-1e8-hidden', (j) => void (layer(j, 1).config.units = 1e8)), check: beforeAllocation },
    { name: 'a 1e9-unit dense layer the manifest hides (past any dimension)', status: 422, code: 'model_invalid', send: () => model('dense-1e9-hidden', (j) => void (layer(j, 1).config.units = 1e9)), check: (d) => assert.equal(d.fault, 'bad_dimension') },
    { name: 'a 1e5-unit dense layer the manifest hides', status: 422, code: 'model_invalid', send: () => model('dense-1e5-hidden', (j) => void (layer(j, 0).config.units = 100_000)), check: beforeAllocation },
    { name: 'two 20000-unit dense layers the manifest hides (a 1.6 GB kernel)', status: 422, code: 'model_invalid', send: () => model('dense-wide-hidden', (j) => { layer(j, 0).config.units = 20_000; layer(j, 1).config.units = 20_000; }), check: beforeAllocation },
    // ------------------------------------------------------------ model graphs tfjs cannot build (issue 12: one froze the whole service)
    { name: "issue 12's reproducer: an input naming a layer that does not exist", status: 422, code: 'model_invalid', send: () => rawModel('graph-dangling', DANGLING_INPUT_MODEL_JSON), check: fault('unknown_layer', 'd') },
    { name: 'two layers feeding each other', status: 422, code: 'model_invalid', send: () => rawModel('graph-cycle', CYCLE_MODEL_JSON), check: (d) => assert.equal(d.fault, 'cycle') },
    { name: "a node reading a call of a layer that never happens", status: 422, code: 'model_invalid', send: () => rawModel('graph-node-index', NODE_INDEX_MODEL_JSON), check: fault('node_index_out_of_range', 'b') },
    { name: 'a string dimension before Flatten and Dense (issue 12: a stored row that broke the model routes)', status: 422, code: 'model_invalid', send: () => rawModel('graph-string-dim', STRING_DIMENSION_MODEL_JSON), check: fault('bad_dimension', 'flat') },
    { name: 'a camelCase config key that tfjs would read past the checks', status: 422, code: 'model_invalid', send: () => model('camel-key', (j) => void (layer(j, 0).config.kernelInitializer = { class_name: 'Zeros', config: {} })), check: fault('bad_key', 'hidden') },
    { name: 'a model.json nested 10000 deep', status: 422, code: 'model_invalid', send: () => model('deep-json', (j) => ({ raw: JSON.stringify(j).replace(/}$/, `,"padding":${'['.repeat(10_000)}${']'.repeat(10_000)}}`) })), check: (d) => assert.equal(d.fault, 'too_deep') },
    { name: 'model.json that is not JSON', status: 422, code: 'model_invalid', send: () => model('not-json', () => ({ raw: '{"modelTopology": ' })) },
    { name: 'a graph model', status: 422, code: 'model_invalid', send: () => model('graph', () => ({ raw: JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }) })) },
    { name: 'a model with no weight files', status: 404, code: 'object_not_found', send: () => model('no-shard', (j) => void (j.weightsManifest[0].paths = ['missing.bin'])) },
    { name: 'a model.json of 17 MiB', status: 413, code: 'object_too_large', send: () => model('huge-json', (j) => ({ raw: JSON.stringify({ ...j, padding: 'x'.repeat(17 * 2 ** 20) }) })) },

    // ------------------------------------------------------------ job specs that build absurd layers
    { name: 'a 1e9-unit dense layer in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 1e9 }, { type: 'dense', units: 5 }] }) },
    { name: 'a 0-unit dense layer', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 0 }, { type: 'dense', units: 5 }] }) },
    { name: 'a lambda layer in a head', status: 400, code: 'validation_failed', send: () => job({ baseModelId: ids.model, trainDatasetId: ids.table, head: [{ type: 'lambda', function: 'process.exit()' }] }) },
    { name: 'a custom layer class in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'MyLayer' }, { type: 'dense', units: 5 }] }) },
    { name: '65 layers in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [...Array.from({ length: 64 }, () => ({ type: 'dropout', rate: 0.1 })), { type: 'dense', units: 5 }] }) },
    { name: 'two wide dense layers past MAX_MODEL_PARAMS', status: 422, code: 'model_too_large', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 65_536 }, { type: 'dense', units: 65_536 }, { type: 'dense', units: 5 }] }) },
    { name: 'a 31×31 kernel on a 28×28 image', status: 422, code: 'layer_not_buildable', send: () => pretrain({ architecture: [{ type: 'conv2d', filters: 4, kernelSize: 31 }, { type: 'flatten' }, { type: 'dense', units: 5 }] }) },

    // ------------------------------------------------------------ outbound URLs
    { name: 'a webhook at 127.0.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://127.0.0.1/hook') },
    { name: 'a webhook at the metadata service', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://169.254.169.254/latest/meta-data/') },
    { name: 'a webhook at 10.0.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://10.0.0.1/hook') },
    { name: 'a webhook at 192.168.1.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://192.168.1.1/hook') },
    { name: 'a webhook at 172.16.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://172.16.0.1/hook') },
    { name: 'a webhook at [::1]', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://[::1]/hook') },
    { name: 'a webhook at [::ffff:169.254.169.254]', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://[::ffff:169.254.169.254]/hook') },
    { name: 'a webhook at 127.0.0.1 spelled as a decimal', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://2130706433/hook') },
    { name: 'a webhook at 127.0.0.1 spelled in hex', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://0x7f.0.0.1/hook') },
    { name: 'a webhook over plain http, off the allow-list', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('http://example.org/hook') },
    { name: 'a webhook with credentials in it', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://user:pass@hooks.example.com/hook') },
    { name: 'a webhook via a redirector off the allow-list', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://httpbin.org/redirect-to?url=http://169.254.169.254/') },
    { name: 'a webhook with a gopher scheme', status: 400, code: 'validation_failed', send: () => webhook('gopher://127.0.0.1:6379/_FLUSHALL') },

    // ------------------------------------------------------------ requests the router or Node's HTTP parser refuses (issue 12: they left the error shape)
    { name: 'a path id over 100 characters', status: 414, code: 'path_param_too_long', send: () => api().get(`/v1/jobs/${'a'.repeat(150)}`), check: (d, res) => assert.ok(!JSON.stringify(res.body).includes('a'.repeat(101)), 'the path is not echoed back') },
    { name: '%FF in a path', status: 400, code: 'invalid_url', send: () => api().get('/v1/jobs/%FF') },
    { name: 'an unknown HTTP method', status: 400, code: 'malformed_request', send: () => raw(`FOO /v1/jobs HTTP/1.1\r\nHost: x\r\n${auth()}\r\n`), check: closedQuietly() },
    { name: 'a control character in a header value', status: 400, code: 'malformed_request', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Note: a\u0001b\r\n${auth()}\r\n`), check: closedQuietly() },
    { name: 'a non-ASCII header name', status: 400, code: 'malformed_request', send: () => raw(Buffer.from(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Caf\u00e9: 1\r\n${auth()}\r\n`, 'utf8')), check: closedQuietly() },
    { name: 'conflicting Content-Length and Transfer-Encoding', status: 400, code: 'malformed_request', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`), check: closedQuietly() },
    { name: 'two different Content-Lengths', status: 400, code: 'malformed_request', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}`), check: closedQuietly() },
    { name: '20 KiB of headers', status: 431, code: 'headers_too_large', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_480)}\r\n${auth()}\r\n`), check: closedQuietly('xxxxxxxx') },
    { name: 'headers that never finish (slowloris)', status: 408, code: 'request_timeout', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\n${auth()}`), check: (d, res) => assert.ok(res.closedAfterMs < 5_000, `closed after ${res.closedAfterMs} ms`) },
    { name: 'a body that stops halfway', status: 408, code: 'request_timeout', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x",`), check: (d, res) => assert.ok(res.closedAfterMs < 6_000, `closed after ${res.closedAfterMs} ms`) },

    // ------------------------------------------------------------ ids that are not there, or not ours
    { name: 'an unknown dataset id in a job', status: 422, code: 'dataset_not_found', send: () => pretrain({ trainDatasetId: ZERO }) },
    { name: 'an unknown base model id in a job', status: 422, code: 'model_not_found', send: () => job({ baseModelId: ZERO, trainDatasetId: ids.table }) },
    { name: 'another tenant\'s dataset id in a job', status: 422, code: 'dataset_not_found', send: () => pretrain({ trainDatasetId: ids.foreignDataset }) },
    { name: 'a cursor that is not one', status: 400, code: 'invalid_cursor', send: () => api().get('/v1/models?after=%00%00') },
  ];

  before(async () => {
    h = await createHarness({ env: { OUTBOUND_ALLOWED_HOSTS: 'hooks.example.com', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
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
    tiny = { json: JSON.parse(Buffer.from(await h.storage.getBytes(`${h.uploads}tiny/model.json`)).toString()), weights: await h.storage.getBytes(`${h.uploads}tiny/weights.bin`) };
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
