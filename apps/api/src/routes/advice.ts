import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import type { CreateAdvice } from '../../../shared/jobs/advice.ts';
import { tenantOf } from '../plugins/auth.ts';
import { AdviceResponseSchema, CreateAdviceBody } from '../schemas/advice.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { AdviceService } from '../services/advice.ts';

/** How much to fine-tune: measured by the worker, read back here (docs/advice.md). */
const advice: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new AdviceService(app.db, app.queue, config);
  app.addSchema(AdviceResponseSchema);
  const ref = { $ref: 'Advice' };
  const tags = ['advice'];

  app.post('/v1/advice', {
    schema: {
      tags,
      operationId: 'createAdvice',
      summary: 'Measure how to fine-tune a base on a dataset',
      description:
        'Queues an advice job (type advice: listed, cancelled and followed like any job). The worker measures the base at candidate cut layers ' +
        '(LogME, a k-fold linear probe), the data (size, class balance), the base\'s familiarity with the inputs, and returns costed options with an ' +
        'expected validation accuracy each and a recommendation. Poll GET /v1/advice/{id}.',
      body: CreateAdviceBody,
      response: {
        202: ref,
        ...errorResponses({
          409: ['dataset_not_ready'],
          422: ['dataset_not_found', 'model_not_found', 'dataset_single_class', 'input_shape_mismatch', 'label_mismatch', 'cut_layer_not_found', 'model_unsupported', 'layer_not_buildable', 'class_count_mismatch', 'model_too_large', 'model_too_many_layers', 'job_too_large'],
          429: ['too_many_queued_jobs'],
          503: ['queue_unavailable'],
        }),
      },
    },
    handler: async (req, reply) => {
      const a = await service.create(tenantOf(req), req.body as CreateAdvice);
      return reply.status(202).header('location', `/v1/advice/${a.id}`).send(a);
    },
  });

  app.get('/v1/advice/:id', {
    schema: {
      tags,
      operationId: 'getAdvice',
      summary: 'Get an advice job: its status and, once it succeeded, the measurements and options',
      description:
        'While queued or running, `advice` is null. Once succeeded: per cut layer LogME and probe accuracy, data size and balance, similarity, and every option ' +
        'with its hyperparameters, compute and expected validation accuracy; `recommended` names the best. Cancel it as a job (POST /v1/jobs/{id}/cancel).',
      params: IdParams,
      response: { 200: ref, ...errorResponses({ 404: ['advice_not_found'] }) },
    },
    handler: async (req) => service.get(tenantOf(req), req.params.id),
  });
};

export default advice;
