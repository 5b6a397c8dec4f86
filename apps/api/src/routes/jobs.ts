import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { CreateJobSchema, type CreateJob } from '../../../shared/jobs/spec.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { CheckpointsResponse, JobListQuery, JobPage, MetricsResponse } from '../schemas/jobs.ts';
import { JobService, jobView } from '../services/jobs.ts';

const jobs: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new JobService(app.db, app.queue, config);
  const tags = ['jobs'];
  const job = { $ref: 'Job' };

  app.post('/v1/jobs', {
    schema: { tags, summary: 'Submit a fine-tuning (or pretraining) job', body: CreateJobSchema, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => {
      const j = await service.create(req.body as CreateJob);
      return reply.status(202).header('location', `/v1/jobs/${j.id}`).send(jobView(j));
    },
  });

  app.get('/v1/jobs', {
    schema: { tags, summary: 'List jobs, newest first, optionally by status', querystring: JobListQuery, response: { 200: JobPage, ...errorResponses } },
    handler: async (req) => service.list(req.query),
  });

  app.get('/v1/jobs/:id', {
    schema: { tags, summary: 'Get a job: status, stage, progress, metrics, evaluation', params: IdParams, response: { 200: job, ...errorResponses } },
    handler: async (req) => jobView(await service.get(req.params.id)),
  });

  app.get('/v1/jobs/:id/metrics', {
    schema: { tags, summary: 'Per-epoch metrics', params: IdParams, response: { 200: MetricsResponse, ...errorResponses } },
    handler: async (req) => ({ jobId: req.params.id, data: await service.metrics(req.params.id) }),
  });

  app.get('/v1/jobs/:id/checkpoints', {
    schema: { tags, summary: 'Checkpoints written after each epoch', params: IdParams, response: { 200: CheckpointsResponse, ...errorResponses } },
    handler: async (req) => {
      const rows = await service.checkpoints(req.params.id);
      return {
        jobId: req.params.id,
        data: rows.map((c) => ({ epoch: c.epoch, uri: `s3://${app.storage.bucket}/${c.prefix}model.json`, sizeBytes: c.sizeBytes, createdAt: c.createdAt.toISOString() })),
      };
    },
  });

  app.post('/v1/jobs/:id/cancel', {
    schema: { tags, summary: 'Cancel a job: a queued one never starts, a running one stops at its next batch', params: IdParams, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.cancel(req.params.id))),
  });
};

export default jobs;
