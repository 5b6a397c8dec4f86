import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams, pageQuery } from '../schemas/common.ts';
import { checkPageSize } from '../services/pagination.ts';
import { CreateDatasetBody, DatasetPage } from '../schemas/datasets.ts';
import { datasetView } from '../services/datasets.ts';
import { tenantOf } from '../plugins/auth.ts';

/** POST /v1/datasets: the schema that validates and documents a registration. */
const createSchema = {
  tags: ['datasets'],
  operationId: 'createDataset',
  summary: 'Register a dataset (built-in MNIST, CSV/NDJSON in S3, or images in S3)',
  description:
    'Reads the source once: MNIST digits by class and count, or a CSV (with a header) / NDJSON file in S3 with numeric feature columns and a label column. ' +
    'An S3 file is streamed, each row checked, and its examples stored as float32 shards in the service\'s bucket, so jobs read exactly what was checked. ' +
    'The response (201) has the feature shape, labels and examples per label; a file over DATASET_SYNC_MAX_BYTES answers 202 and registers in the background like images. ' +
    'Images (a prefix with one folder per class, or a CSV/JSONL manifest of uri,label[,split]) answer 202 at once with the dataset `validating`: ' +
    'each object is then decoded, resized and stored prepared in the background, with progress on GET /v1/datasets/{id} and its events stream. ' +
    'It ends `ready`, or `failed` with `error` {code, status, message} naming the bad object (nothing of it is kept), or `cancelled`. ' +
    'A tenant has at most MAX_DATASET_REGISTRATIONS_PER_TENANT background registrations at once (429 too_many_dataset_registrations).',
  body: CreateDatasetBody,
  response: {
    201: { $ref: 'Dataset' },
    202: { $ref: 'Dataset' },
    ...errorResponses({
      400: ['invalid_s3_uri', 's3_access_denied', 'dataset_invalid', 'dataset_empty'],
      404: ['object_not_found'],
      413: ['object_too_large', 'dataset_too_many_rows', 'dataset_too_many_features', 'dataset_too_many_classes'],
      422: ['source_bucket_not_allowed', 'source_key_not_allowed', 'summary_invalid'],
      429: ['too_many_dataset_registrations'],
      503: ['storage_unavailable'],
    }),
  },
};

const datasets: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = app.datasetService;
  const tags = ['datasets'];

  app.post('/v1/datasets', {
    schema: createSchema,
    handler: async (req, reply) => {
      const { dataset: d, accepted } = await service.create(tenantOf(req), req.body);
      return reply.status(accepted ? 202 : 201).header('location', `/v1/datasets/${d.id}`).send(datasetView(d));
    },
  });

  app.get('/v1/datasets', {
    schema: {
      tags,
      operationId: 'listDatasets',
      summary: 'List datasets, newest first',
      description: 'Cursor pagination: pass `nextCursor` as `after` while `hasMore` is true.',
      querystring: pageQuery(config.limits.pageSize),
      response: { 200: DatasetPage, ...errorResponses({ 400: ['invalid_cursor', 'page_size_exceeded'] }) },
    },
    handler: async (req) => service.list(tenantOf(req), checkPageSize(req.query.limit, config.limits.pageSize), req.query.after),
  });

  app.get('/v1/datasets/:id', {
    schema: {
      tags,
      operationId: 'getDataset',
      summary: 'Get a dataset',
      description: "Its source, feature shape, labels and examples per label. Another tenant's dataset is not found.",
      params: IdParams,
      response: { 200: { $ref: 'Dataset' }, ...errorResponses({ 404: ['dataset_not_found'], 500: ['stored_record_invalid'] }) },
    },
    handler: async (req) => service.show(tenantOf(req), req.params.id),
  });
};

export default datasets;
