import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams, PageQuery } from '../schemas/common.ts';
import { CreateDatasetBody, DatasetPage } from '../schemas/datasets.ts';
import { DatasetService, datasetView } from '../services/datasets.ts';
import { tenantOf } from '../plugins/auth.ts';

const datasets: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new DatasetService(app.db, app.storage, { maxBytes: config.maxDatasetBytes, maxRows: config.limits.datasetRows, maxFeatures: config.limits.datasetFeatures }, config.s3.sourceBuckets);
  const tags = ['datasets'];

  app.post('/v1/datasets', {
    schema: { tags, summary: 'Register a dataset (built-in MNIST, or CSV/NDJSON in S3)', body: CreateDatasetBody, response: { 201: { $ref: 'Dataset' }, ...errorResponses } },
    handler: async (req, reply) => {
      const d = await service.create(tenantOf(req), req.body);
      return reply.status(201).header('location', `/v1/datasets/${d.id}`).send(datasetView(d));
    },
  });

  app.get('/v1/datasets', {
    schema: { tags, summary: 'List datasets, newest first', querystring: PageQuery, response: { 200: DatasetPage, ...errorResponses } },
    handler: async (req) => service.list(tenantOf(req), req.query.limit, req.query.after),
  });

  app.get('/v1/datasets/:id', {
    schema: { tags, summary: 'Get a dataset', params: IdParams, response: { 200: { $ref: 'Dataset' }, ...errorResponses } },
    handler: async (req) => datasetView(await service.get(tenantOf(req), req.params.id)),
  });
};

export default datasets;
