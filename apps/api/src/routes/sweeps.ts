import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import type { CreateSweep } from '../../../shared/sweeps/spec.ts';
import { tenantOf } from '../plugins/auth.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { CreateSweepBody, SweepPage, SweepSchema, sweepListQuery } from '../schemas/sweeps.ts';
import { JobService } from '../services/jobs.ts';
import { checkPageSize } from '../services/pagination.ts';
import { SweepService } from '../services/sweeps.ts';

/** POST /v1/sweeps: every trial is checked as POST /v1/jobs would, so it refuses what that route refuses. */
const createSchema = (ref: { $ref: string }, tags: string[]) => ({
  tags,
  operationId: 'createSweep',
  summary: 'Start a hyperparameter sweep: a grid or random search of jobs',
  description:
    'Plans every trial from the base job and the space and checks each as POST /v1/jobs would (a bad one is a 422 now); then starts up to `parallelism` of them. ' +
    'Trials on a frozen base with the same cut share one feature pass; ASHA stops bad trials at rungs of epochs. Poll GET /v1/sweeps/{id}.',
  body: CreateSweepBody,
  response: {
    202: ref,
    ...errorResponses({
      409: ['dataset_not_ready'],
      422: [
        'dataset_not_found', 'model_not_found', 'base_model_required', 'architecture_required', 'invalid_spec', 'dataset_single_class', 'input_shape_mismatch',
        'label_mismatch', 'cut_layer_not_found', 'layer_not_buildable', 'class_count_mismatch', 'invalid_freeze', 'model_too_large', 'model_too_many_layers', 'job_too_large',
        'graph_base_frozen', 'model_unsupported', 'invalid_sweep_space', 'invalid_sweep_objective', 'sweep_too_large',
      ],
      429: ['too_many_queued_jobs'],
    }),
  },
});

/** Hyperparameter sweeps: trials are jobs (GET /v1/jobs?sweepId=), the sweep their parent (docs/sweeps.md). */
const sweeps: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new SweepService(app.db, app.queue, config, new JobService(app.db, app.sql, app.queue, config));
  app.addSchema(SweepSchema);
  const ref = { $ref: 'Sweep' };
  const tags = ['sweeps'];

  app.post('/v1/sweeps', {
    schema: createSchema(ref, tags),
    handler: async (req, reply) => {
      const s = await service.create(tenantOf(req), req.body as CreateSweep);
      return reply.status(202).header('location', `/v1/sweeps/${s.id}`).send(s);
    },
  });

  app.get('/v1/sweeps', {
    schema: {
      tags,
      operationId: 'listSweeps',
      summary: 'List sweeps, newest first, optionally by status',
      description: 'Cursor pagination: pass `nextCursor` as `after` while `hasMore` is true.',
      querystring: sweepListQuery(config.limits.pageSize),
      response: { 200: SweepPage, ...errorResponses({ 400: ['invalid_cursor', 'page_size_exceeded'] }) },
    },
    handler: async (req) => service.list(tenantOf(req), { ...req.query, limit: checkPageSize(req.query.limit, config.limits.pageSize) }),
  });

  app.get('/v1/sweeps/:id', {
    schema: {
      tags,
      operationId: 'getSweep',
      summary: 'Get a sweep: status, trials, feature passes, leaderboard, best trial and its model',
      description: 'The leaderboard ranks the trials by the objective (their best epoch\'s value); `outputModelId` is the best trial\'s model once the sweep succeeded.',
      params: IdParams,
      response: { 200: ref, ...errorResponses({ 404: ['sweep_not_found'] }) },
    },
    handler: async (req) => service.get(tenantOf(req), req.params.id),
  });

  app.post('/v1/sweeps/:id/cancel', {
    schema: {
      tags,
      operationId: 'cancelSweep',
      summary: 'Cancel a sweep and its trials',
      description: 'No planned trial starts; queued trials never run and running ones stop at their next batch (as POST /v1/jobs/{id}/cancel). The sweep ends cancelled once they have.',
      params: IdParams,
      response: { 202: ref, ...errorResponses({ 404: ['sweep_not_found'], 409: ['sweep_not_cancellable'] }) },
    },
    handler: async (req, reply) => reply.status(202).send(await service.cancel(tenantOf(req), req.params.id)),
  });
};

export default sweeps;
