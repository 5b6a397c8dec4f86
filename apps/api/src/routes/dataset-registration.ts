// An image dataset's registration while it runs in the background: cancel it,
// or follow its progress live (routes/datasets.ts registers and reads).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { datasetView } from '../services/datasets.ts';
import { streamSnapshots } from '../services/event-stream.ts';
import { tenantOf } from '../plugins/auth.ts';

const datasetRegistration: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = app.datasetService;
  const tags = ['datasets'];

  app.post('/v1/datasets/:id/cancel', {
    schema: {
      tags,
      operationId: 'cancelDataset',
      summary: "Cancel an image dataset's registration",
      description: 'Stops a `validating` registration and deletes every object it wrote before answering; the dataset ends `cancelled` (error registration_cancelled).',
      params: IdParams,
      response: { 200: { $ref: 'Dataset' }, ...errorResponses({ 404: ['dataset_not_found'], 409: ['dataset_not_validating'] }) },
    },
    handler: async (req) => datasetView(await service.cancel(tenantOf(req), req.params.id)),
  });

  app.get('/v1/datasets/:id/events', {
    schema: {
      tags,
      operationId: 'streamDatasetEvents',
      summary: "An image dataset's registration progress, live",
      description:
        'Server-Sent Events: a `dataset` event carrying the dataset as GET shows it each time it changes (progress, status), ' +
        'then `end` with {status} once it is ready, failed or cancelled (at once for a dataset already past validating).',
      params: IdParams,
      response: {
        200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string', description: 'event: dataset\ndata: <the dataset as JSON>' } } } },
        ...errorResponses({ 404: ['dataset_not_found'] }),
      },
    },
    handler: async (req, reply) => {
      const tenantId = tenantOf(req);
      await service.get(tenantId, req.params.id); // 404 before the stream starts
      return streamSnapshots(req, reply, 'dataset', async () => {
        const d = await service.get(tenantId, req.params.id);
        return { body: datasetView(d), status: d.status, done: d.status !== 'validating' };
      }, config.eventsPollMs);
    },
  });
};

export default datasetRegistration;
