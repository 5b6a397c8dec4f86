import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams, pageQuery } from '../schemas/common.ts';
import { checkPageSize } from '../services/pagination.ts';
import { GraphBaseFileParams, ModelFileParams, ModelFileResponse, ModelPage, RegisterModelBody, SignedUrlQuery, SignedUrlResponse } from '../schemas/models.ts';
import { modelView } from '../services/models.ts';
import { tenantOf } from '../plugins/auth.ts';
import { signModelUrl } from '../../../shared/auth/signed-urls.ts';
import { MODEL_JSON } from '../../../shared/ml/stored-model.ts';
import { KERAS_FILE, kerasFileOf } from '../services/model-export.ts';

type App = Parameters<FastifyPluginAsyncTypebox<{ config: Config }>>[0];
interface Ctx { config: Config; service: App['modelService']; tags: string[] }

/** Registering, listing and reading models. */
function registerAndRead(app: App, { config, service, tags }: Ctx) {
  app.post('/v1/models', {
    schema: {
      tags,
      operationId: 'registerModel',
      summary: 'Register a model found in S3: a TensorFlow.js LayersModel or Graph model, or a Keras .keras or .h5 file',
      description:
        'Checks model.json and its weight shards before tfjs builds anything (known layer classes only, a well-formed acyclic graph, integer dimensions, shard sizes as declared; for a Graph model, ops tfjs implements and weights that are Const nodes), ' +
        'then builds it with tfjs in a child process bounded by MODEL_INSPECT_TIMEOUT_MS and MODEL_INSPECT_MEMORY_MB (at most MAX_MODEL_PARAMS), and keeps its own copy. ' +
        'A Graph model is also run there on zeros (batch 1 to 4), and must have one float32 input, one output, no control flow, and memory linear in its batch: it can be a frozen base only (docs/models.md). ' +
        'The response lists the layers, parameter counts and shapes.',
      body: RegisterModelBody,
      response: {
        201: { $ref: 'Model' },
        ...errorResponses({
          400: ['invalid_s3_uri', 's3_access_denied'],
          404: ['object_not_found'],
          413: ['object_too_large'],
          422: ['source_bucket_not_allowed', 'source_key_not_allowed', 'model_invalid', 'model_unsupported', 'model_too_large', 'model_too_many_layers', 'summary_invalid'],
          503: ['storage_unavailable', 'model_inspector_unavailable'],
        }),
      },
    },
    handler: async (req, reply) => {
      const m = await service.register(tenantOf(req), req.body);
      return reply.status(201).header('location', `/v1/models/${m.id}`).send(modelView(m));
    },
  });

  app.get('/v1/models', {
    schema: {
      tags,
      operationId: 'listModels',
      summary: 'List models, newest first',
      description: 'Registered bases and the outputs of jobs. Cursor pagination: pass `nextCursor` as `after` while `hasMore` is true.',
      querystring: pageQuery(config.limits.pageSize),
      response: { 200: ModelPage, ...errorResponses({ 400: ['invalid_cursor', 'page_size_exceeded'] }) },
    },
    handler: async (req) => service.list(tenantOf(req), checkPageSize(req.query.limit, config.limits.pageSize), req.query.after),
  });

  app.get('/v1/models/:id', {
    schema: {
      tags,
      operationId: 'getModel',
      summary: 'Get a model: layers, parameter counts, shapes and lineage',
      description: 'Lineage: the base it was fine-tuned from and the job that made it (null for a registered model).',
      params: IdParams,
      response: { 200: { $ref: 'Model' }, ...errorResponses({ 404: ['model_not_found'], 500: ['stored_record_invalid'] }) },
    },
    handler: async (req) => service.show(tenantOf(req), req.params.id),
  });

}

/** A model's files: signed links and the files themselves. */
function files(app: App, { config, service, tags }: Ctx) {
  app.post('/v1/models/:id/download-url', {
    schema: {
      tags,
      operationId: 'createModelDownloadUrl',
      summary: 'A short-lived URL that loads the model without an API key',
      description: 'The URL opens model.json for this model only, until expiresAt (SIGNED_URL_TTL_SECONDS); tf.loadLayersModel(url) finds weights.bin beside it with the same signature.',
      params: IdParams,
      response: { 200: SignedUrlResponse, ...errorResponses({ 404: ['model_not_found'] }) },
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
      operationId: 'downloadModelFile',
      summary: 'Download a model file (model.json, weights.bin, or model.keras), with a key or a signed URL',
      description: "Laid out for tf.loadLayersModel('<api>/v1/models/<id>/model.json'), which fetches weights.bin beside it. model.keras is the same model as a Keras 3 file (keras.models.load_model). Sent as an attachment.",
      params: ModelFileParams,
      querystring: SignedUrlQuery,
      response: {
        200: ModelFileResponse,
        ...errorResponses({ 404: ['model_not_found', 'object_not_found'], 422: ['model_unsupported'], 503: ['storage_unavailable'] }),
      },
    },
    config: { auth: 'signed' },
    handler: async (req, reply) => {
      const read = (file: string) => (req.signedModelId === req.params.id ? service.fileOf(req.params.id, file) : service.file(tenantOf(req), req.params.id, file));
      const bytes = req.params.file === KERAS_FILE ? await kerasFileOf(read) : await read(req.params.file);
      return sendFile(reply, req.params.file, bytes);
    },
  });

  // A graph-head's base graph, beside its head: tf.loadGraphModel('<api>/v1/models/<id>/base/model.json') finds base/weights.bin.
  app.get('/v1/models/:id/base/:file', {
    schema: {
      tags,
      operationId: 'downloadGraphBaseFile',
      summary: "Download the base graph of a model fine-tuned on a TensorFlow.js Graph model (base/model.json, base/weights.bin)",
      description: "Only for format graph-head: the Graph model the head was trained on, for tf.loadGraphModel('<api>/v1/models/<id>/base/model.json'); run it up to files.base.outputNode and give that to the head (docs/models.md). With a key or a signed URL of the model. Any other model: 404 model_not_found.",
      params: GraphBaseFileParams,
      querystring: SignedUrlQuery,
      response: { 200: ModelFileResponse, ...errorResponses({ 404: ['model_not_found', 'object_not_found'], 503: ['storage_unavailable'] }) },
    },
    config: { auth: 'signed' },
    handler: async (req, reply) => {
      const bytes = await service.baseFile(req.signedModelId === req.params.id ? null : tenantOf(req), req.params.id, req.params.file);
      return sendFile(reply, req.params.file, bytes);
    },
  });

}

function sendFile(reply: FastifyReply, file: string, bytes: Uint8Array) {
  // tfjs fetches weights.bin beside model.json with the same query string, so one signature opens both.
  const type = file === 'model.json' ? 'application/json' : 'application/octet-stream';
  return reply.type(type).header('content-disposition', `attachment; filename="${file}"`).send(Buffer.from(bytes));
}

/** Deleting a model. */
function remove(app: App, { config, service, tags }: Ctx) {
  app.delete('/v1/models/:id', {
    schema: {
      tags,
      operationId: 'deleteModel',
      summary: 'Delete a model (refused while a queued or running job uses it)',
      description: 'Removes the record and its files. Models fine-tuned from it keep their own copies.',
      params: IdParams,
      response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses({ 404: ['model_not_found'], 409: ['model_in_use'], 503: ['storage_unavailable'] }) },
    },
    handler: async (req, reply) => {
      await service.delete(tenantOf(req), req.params.id);
      return reply.status(204).send(null);
    },
  });
}

const models: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const ctx: Ctx = { config, service: app.modelService, tags: ['models'] };
  for (const group of [registerAndRead, files, remove]) group(app, ctx);
};

export default models;
