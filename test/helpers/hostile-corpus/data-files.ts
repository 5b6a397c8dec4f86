// Hostile-input rows: poison in data files, bad labels, and control characters in names.
import assert from 'node:assert/strict';
import { tinyMlp } from '../api.ts';
import { type Case, type Corpus, type RowHelpers, ZERO } from './rows.ts';

export function dataFilesRows(r: RowHelpers, c: Corpus): Case[] {
  const { api, bucket, rawJson, dataset, mnist, file, pretrain, hp } = r;
  const { ids } = c;
  return [
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
    { name: 'a NUL in a model name', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: '\u0000', uri: `s3://${bucket()}/${c.h.uploads}tiny/model.json` }) },
    { name: 'a NUL in a model label', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${c.h.uploads}tiny/model.json`, labels: ['a', 'b\u0000'] }) },
    { name: 'a NUL in a label column name', status: 400, code: 'validation_failed', send: () => dataset({ type: 's3', uri: `s3://${bucket()}/${c.h.uploads}table.csv`, format: 'csv', labelColumn: 'species\u0000' }) },
    { name: 'unicode that is fine in a name, in a job that is not', status: 422, code: 'dataset_not_found', send: () => pretrain({ name: 'Données 数据 🚀', trainDatasetId: ZERO }) },
  ];
}
