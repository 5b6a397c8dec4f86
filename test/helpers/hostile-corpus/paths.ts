// Hostile-input rows: path traversal, and keys in our bucket outside the caller's upload area.
import { type Case, type Corpus, type RowHelpers, ZERO } from './rows.ts';

export function pathsRows(r: RowHelpers, c: Corpus): Case[] {
  const { api, bucket, s3Uri, ourKey, outsideArea } = r;
  const { ids } = c;
  return [
    // ------------------------------------------------------------ path traversal in names, keys and ids
    { name: '../ in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${c.h.uploads}../datasets/x.csv`) },
    { name: './ in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${c.h.uploads}./table.csv`) },
    { name: 'a backslash traversal in an S3 key', status: 400, code: 'invalid_s3_uri', send: () => s3Uri(`s3://${bucket()}/${c.h.uploads}..\\..\\etc\\passwd`) },
    { name: 'a NUL in an S3 key', status: 400, code: 'validation_failed', send: () => s3Uri(`s3://${bucket()}/${c.h.uploads}table.csv\u0000.png`) },
    { name: 'a percent-encoded traversal in an S3 key', status: 404, code: 'object_not_found', send: () => s3Uri(`s3://${bucket()}/${c.h.uploads}%2e%2e/%2e%2e/etc/passwd`) },
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
    { name: '../ in a model URI', status: 400, code: 'invalid_s3_uri', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${c.h.uploads}../models/x/model.json` }) },
    { name: 'a model URI that is not model.json', status: 400, code: 'validation_failed', send: () => api().post('/v1/models').send({ name: 'm', uri: `s3://${bucket()}/${c.h.uploads}tiny/weights.bin` }) },
    { name: 'traversal as a model file name', status: 400, code: 'validation_failed', send: () => api().get(`/v1/models/${ids.model}/..%2F..%2Fjobs`) },
    { name: 'an unknown model file name', status: 400, code: 'validation_failed', send: () => api().get(`/v1/models/${ids.model}/secrets.txt`) },
    { name: 'traversal as an id', status: 400, code: 'validation_failed', send: () => api().get('/v1/jobs/..%2F..%2Fadmin') },
    { name: 'SQL in an id', status: 400, code: 'validation_failed', send: () => api().get(`/v1/datasets/${encodeURIComponent("' OR 1=1 --")}`) },
  ];
}
