import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { CreateJobSchema, type CreateJob } from '../../../shared/jobs/spec.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { BadRequestError } from '../../../shared/errors.ts';
import { CheckpointsResponse, JobEventPage, JobEventQuery, JobListQuery, JobPage, MetricsResponse, WebhookDeliveriesResponse } from '../schemas/jobs.ts';
import { streamEvents } from '../services/event-stream.ts';
import { JobService, jobView } from '../services/jobs.ts';
import { tenantOf } from '../plugins/auth.ts';

type EventRow = { id: bigint; type: string; data: unknown; createdAt: Date };
const eventView = (e: EventRow) => ({ id: e.id.toString(), type: e.type, data: e.data as Record<string, unknown>, createdAt: e.createdAt.toISOString() });

function eventCursor(query: string | undefined, lastEventId: string | string[] | undefined): bigint {
  const raw = query ?? (typeof lastEventId === 'string' ? lastEventId : undefined);
  if (raw === undefined) return 0n;
  if (!/^[0-9]{1,18}$/.test(raw)) throw new BadRequestError('invalid_cursor', 'Last-Event-ID must be an event id');
  return BigInt(raw);
}

const jobs: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new JobService(app.db, app.queue, config);
  const tags = ['jobs'];
  const job = { $ref: 'Job' };

  app.post('/v1/jobs', {
    schema: { tags, summary: 'Submit a fine-tuning (or pretraining) job', body: CreateJobSchema, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => {
      const j = await service.create(tenantOf(req), req.body as CreateJob);
      return reply.status(202).header('location', `/v1/jobs/${j.id}`).send(jobView(j));
    },
  });

  app.get('/v1/jobs', {
    schema: { tags, summary: 'List jobs, newest first, optionally by status', querystring: JobListQuery, response: { 200: JobPage, ...errorResponses } },
    handler: async (req) => service.list(tenantOf(req), req.query),
  });

  app.get('/v1/jobs/:id', {
    schema: { tags, summary: 'Get a job: status, stage, progress, metrics, evaluation', params: IdParams, response: { 200: job, ...errorResponses } },
    handler: async (req) => jobView(await service.get(tenantOf(req), req.params.id)),
  });

  app.get('/v1/jobs/:id/metrics', {
    schema: { tags, summary: 'Per-epoch metrics', params: IdParams, response: { 200: MetricsResponse, ...errorResponses } },
    handler: async (req) => ({ jobId: req.params.id, data: await service.metrics(tenantOf(req), req.params.id) }),
  });

  app.get('/v1/jobs/:id/checkpoints', {
    schema: { tags, summary: 'Checkpoints written after each epoch', params: IdParams, response: { 200: CheckpointsResponse, ...errorResponses } },
    handler: async (req) => {
      const rows = await service.checkpoints(tenantOf(req), req.params.id);
      return {
        jobId: req.params.id,
        data: rows.map((c) => ({ epoch: c.epoch, uri: `s3://${app.storage.bucket}/${c.prefix}model.json`, sizeBytes: c.sizeBytes, createdAt: c.createdAt.toISOString() })),
      };
    },
  });

  app.post('/v1/jobs/:id/cancel', {
    schema: { tags, summary: 'Cancel a job: a queued or paused one never runs, a running one stops at its next batch and keeps its checkpoints', params: IdParams, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.cancel(tenantOf(req), req.params.id))),
  });

  app.post('/v1/jobs/:id/pause', {
    schema: { tags, summary: 'Pause a job: a running one checkpoints at its next batch and frees its worker', params: IdParams, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.pause(tenantOf(req), req.params.id))),
  });

  app.post('/v1/jobs/:id/resume', {
    schema: { tags, summary: 'Resume a paused job from its checkpoint, on any worker', params: IdParams, response: { 202: job, ...errorResponses } },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.resume(tenantOf(req), req.params.id))),
  });

  app.get('/v1/jobs/:id/webhook-deliveries', {
    schema: { tags, summary: 'Webhook deliveries of the job\'s end, with every attempt', params: IdParams, response: { 200: WebhookDeliveriesResponse, ...errorResponses } },
    handler: async (req) => {
      await service.get(tenantOf(req), req.params.id);
      const rows = await app.db.webhookDelivery.findMany({ where: { jobId: req.params.id }, orderBy: { createdAt: 'asc' } });
      return {
        jobId: req.params.id,
        data: rows.map((d) => ({
          id: d.id,
          event: d.event,
          url: d.url,
          status: d.status as 'pending' | 'delivered' | 'failed',
          attempts: d.attempts,
          attemptLog: d.attemptLog as never,
          nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
          deliveredAt: d.deliveredAt?.toISOString() ?? null,
          createdAt: d.createdAt.toISOString(),
        })),
      };
    },
  });

  app.get('/v1/jobs/:id/events', {
    schema: {
      tags,
      summary: 'The job\'s event log, oldest first; with `Accept: text/event-stream`, a live Server-Sent Events stream that ends when the job does',
      params: IdParams,
      querystring: JobEventQuery,
      response: { 200: JobEventPage, ...errorResponses },
    },
    handler: async (req, reply) => {
      const id = req.params.id;
      const after = eventCursor(req.query.after, req.headers['last-event-id']);
      if ((req.headers.accept ?? '').includes('text/event-stream')) {
        await service.get(tenantOf(req), id); // 404 before the stream starts
        return streamEvents(req, reply, {
          after: async (cursor, limit) => (await service.eventsAfter(id, cursor, limit)).map(eventView),
          status: async () => (await app.db.job.findUnique({ where: { id }, select: { status: true } }))?.status ?? null,
        }, after, config.eventsPollMs);
      }
      const rows = await service.events(tenantOf(req), id, after, req.query.limit + 1);
      const page = rows.slice(0, req.query.limit).map(eventView);
      const hasMore = rows.length > req.query.limit;
      return { jobId: id, data: page, hasMore, nextCursor: hasMore ? page.at(-1)!.id : null };
    },
  });
};

export default jobs;
