import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams, PageQuery } from '../schemas/common.ts';
import { ModelFileParams, ModelPage, RegisterModelBody, SignedUrlQuery, SignedUrlResponse } from '../schemas/models.ts';
import { ModelService, modelView } from '../services/models.ts';
import { tenantOf } from '../plugins/auth.ts';
import { signModelUrl } from '../../../shared/auth/signed-urls.ts';
import { MODEL_JSON } from '../../../shared/ml/s3-io-handler.ts';

const models: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new ModelService(app.db, app.storage, { maxParams: config.maxModelParams, maxBytes: config.limits.modelBytes, maxLayers: config.limits.modelLayers }, config.s3.sourceBuckets);
  const tags = ['models'];

  app.post('/v1/models', {
    schema: { tags, summary: 'Register a TensorFlow.js LayersModel found in S3', body: RegisterModelBody, response: { 201: { $ref: 'Model' }, ...errorResponses } },
    handler: async (req, reply) => {
      const m = await service.register(tenantOf(req), req.body);
      return reply.status(201).header('location', `/v1/models/${m.id}`).send(modelView(m));
    },
  });

  app.get('/v1/models', {
    schema: { tags, summary: 'List models, newest first', querystring: PageQuery, response: { 200: ModelPage, ...errorResponses } },
    handler: async (req) => service.list(tenantOf(req), req.query.limit, req.query.after),
  });

  app.get('/v1/models/:id', {
    schema: { tags, summary: 'Get a model: layers, parameter counts, shapes and lineage', params: IdParams, response: { 200: { $ref: 'Model' }, ...errorResponses } },
    handler: async (req) => modelView(await service.get(tenantOf(req), req.params.id)),
  });

  app.post('/v1/models/:id/download-url', {
    schema: {
      tags,
      summary: 'A short-lived URL that loads the model without an API key (tf.loadLayersModel(url) finds weights.bin beside it)',
      params: IdParams,
      response: { 200: SignedUrlResponse, ...errorResponses },
    },
    handler: async (req) => {
      const m = await service.get(tenantOf(req), req.params.id);
      const expires = Math.floor(Date.now() / 1000) + config.auth.signedUrlTtlSeconds;
      const signature = signModelUrl(app.urlSigningSecret, m.id, expires);
      return { url: `/v1/models/${m.id}/${MODEL_JSON}?expires=${expires}&signature=${signature}`, expiresAt: new Date(expires * 1000).toISOString() };
    },
  });

  // Laid out so that tf.loadLayersModel('<api>/v1/models/<id>/model.json') finds weights.bin beside it.
  app.get('/v1/models/:id/:file', {
    schema: {
      tags,
      summary: 'Download a model file (model.json or weights.bin), with a key or a signed URL',
      params: ModelFileParams,
      querystring: SignedUrlQuery,
      response: { 200: { description: 'The file', type: 'string', format: 'binary' }, ...errorResponses },
    },
    config: { auth: 'signed' },
    handler: async (req, reply) => {
      const bytes = req.signedModelId === req.params.id
        ? await service.fileOf(req.params.id, req.params.file)
        : await service.file(tenantOf(req), req.params.id, req.params.file);
      // tfjs fetches weights.bin beside model.json with the same query string, so one signature opens both.
      const type = req.params.file === 'model.json' ? 'application/json' : 'application/octet-stream';
      return reply.type(type).header('content-disposition', `attachment; filename="${req.params.file}"`).send(Buffer.from(bytes));
    },
  });

  app.delete('/v1/models/:id', {
    schema: { tags, summary: 'Delete a model (refused while a queued or running job uses it)', params: IdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses } },
    handler: async (req, reply) => {
      await service.delete(tenantOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  });
};

export default models;
