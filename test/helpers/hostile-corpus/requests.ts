// Hostile-input rows: malformed bodies, image sources and out-of-range numbers.
import assert from 'node:assert/strict';
import { bombPng, solid } from '../images.ts';
import { type Case, type Corpus, type RowHelpers, ZERO } from './rows.ts';

export function requestsRows(r: RowHelpers, c: Corpus): Case[] {
  const { api, bucket, rawJson, dataset, mnist, imageFolder, imageManifest, namesBadImage, pretrain, hp } = r;
  const { ids } = c;
  return [
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
  ];
}
