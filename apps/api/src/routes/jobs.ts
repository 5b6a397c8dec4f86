import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import type { CreateJob } from '../../../shared/jobs/spec.ts';
import { decodeJobEvent } from '../../../shared/jobs/decode.ts';
import { JOB_STAGES, JOB_STATUSES } from '../../../shared/jobs/status.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { BadRequestError } from '../../../shared/errors.ts';
import { CheckpointsResponse, CreateJobBody, JobEventPage, jobEventQuery, jobGetQuery, jobListQuery, JobPage, MetricsResponse, WebhookDeliveriesResponse } from '../schemas/jobs.ts';
import { streamEvents } from '../services/event-stream.ts';
import { sendConditional } from '../services/conditional-get.ts';
import { jobVersionedReads } from '../services/job-versions.ts';
import { listFromCache } from '../services/job-list.ts';
import { JobPageBytes } from '../services/job-page-bytes.ts';
import { JobReads } from '../services/job-reads.ts';
import { checkPageSize } from '../services/pagination.ts';
import { JobService, jobView } from '../services/jobs.ts';
import { tenantOf } from '../plugins/auth.ts';

const eventView = decodeJobEvent;

function eventCursor(query: string | undefined, lastEventId: string | string[] | undefined): bigint {
  const raw = query ?? (typeof lastEventId === 'string' ? lastEventId : undefined);
  if (raw === undefined) return 0n;
  if (!/^[0-9]{1,18}$/.test(raw)) throw new BadRequestError('invalid_cursor', 'Last-Event-ID must be an event id');
  return BigInt(raw);
}

type App = Parameters<FastifyPluginAsyncTypebox<{ config: Config }>>[0];
interface Ctx { config: Config; service: JobService; tags: string[]; job: { $ref: string } }

/** Submitting a job. */
function submit(app: App, { service, tags, job }: Ctx) {
  app.post('/v1/jobs', {
    schema: {
      tags,
      operationId: 'createJob',
      summary: 'Submit a fine-tuning (or pretraining) job',
      description:
        'Checks at once that the job can be built (datasets, base model, cut layer, head, shapes, size) so a bad spec is a 422 now, not a failed job later; ' +
        'then stores it and queues it. Follow it with GET /v1/jobs/{id}, its events stream, or a webhook.',
      body: CreateJobBody,
      response: {
        202: job,
        ...errorResponses({
          409: ['dataset_not_ready'],
          422: [
            'dataset_not_found', 'model_not_found', 'base_model_required', 'architecture_required', 'invalid_spec', 'dataset_single_class', 'input_shape_mismatch',
            'label_mismatch', 'cut_layer_not_found', 'graph_base_frozen', 'model_unsupported', 'layer_not_buildable', 'class_count_mismatch', 'invalid_freeze', 'strategy_conflict', 'model_too_large', 'model_too_many_layers', 'job_too_large', 'outbound_url_not_allowed',
          ],
          429: ['too_many_queued_jobs'],
          503: ['queue_unavailable'],
        }),
      },
    },
    handler: async (req, reply) => {
      const j = await service.create(tenantOf(req), req.body as CreateJob);
      return reply.status(202).header('location', `/v1/jobs/${j.id}`).send(jobView(j));
    },
  });
}

/** Listing and reading jobs. */
function reads(app: App, { config, service, tags, job }: Ctx) {
  const pageReads = new JobReads(app.sql);
  const pageBytes = new JobPageBytes();
  app.get('/v1/jobs', {
    schema: {
      tags,
      operationId: 'listJobs',
      summary: 'List jobs, newest first, optionally by status',
      description: 'Cursor pagination: pass `nextCursor` as `after` while `hasMore` is true.',
      querystring: jobListQuery(config.limits.pageSize),
      response: { 200: JobPage, ...errorResponses({ 400: ['invalid_cursor', 'page_size_exceeded'] }) },
    },
    handler: async (req, reply) => {
      const q = { ...req.query, limit: checkPageSize(req.query.limit, config.limits.pageSize) };
      // Each item serialized by the GET's own compiled schema (`job`), so that the two share cached bodies.
      const json = await listFromCache(pageReads, app.jobEtags, tenantOf(req), q, reply.compileSerializationSchema(job, '200'), pageBytes);
      // Bytes with a JSON content type are sent as they are.
      return json === undefined ? service.list(tenantOf(req), q) : (reply as FastifyReply).type('application/json; charset=utf-8').send(json);
    },
  });

  app.get('/v1/jobs/:id', {
    schema: {
      tags,
      operationId: 'getJob',
      summary: 'Get a job: status, stage, progress, metrics, evaluation',
      description:
        `Statuses: ${JOB_STATUSES.join(', ')}. Stages while running: ${JOB_STAGES.join(', ')}. ` +
        'Send the ETag back in If-None-Match to get an empty 304 while nothing changed; add `waitForChangeMs` to wait for a change (long poll).',
      params: IdParams,
      querystring: jobGetQuery(config.longPollMaxMs),
      response: { 200: job, 304: { description: 'Not modified: the job is as the ETag in If-None-Match says', type: 'null' }, ...errorResponses({ 404: ['job_not_found'] }) },
    },
    handler: async (req, reply) => {
      const tenantId = tenantOf(req);
      const id = req.params.id;
      return sendConditional(req, reply, jobVersionedReads(service, app.jobEtags, tenantId, id, (v) => reply.serialize(v) as string), { waitMs: req.query.waitForChangeMs ?? 0, pollMs: config.eventsPollMs });
    },
  });
}

/** A job's metrics and checkpoints. */
function results(app: App, { config, service, tags, job }: Ctx) {
  app.get('/v1/jobs/:id/metrics', {
    schema: {
      tags,
      operationId: 'getJobMetrics',
      summary: 'Per-epoch metrics',
      description: 'Loss and accuracy (train and validation), duration and throughput of every finished epoch, in order.',
      params: IdParams,
      response: { 200: MetricsResponse, ...errorResponses({ 404: ['job_not_found'] }) },
    },
    handler: async (req) => ({ jobId: req.params.id, data: await service.metrics(tenantOf(req), req.params.id) }),
  });

  app.get('/v1/jobs/:id/checkpoints', {
    schema: {
      tags,
      operationId: 'listJobCheckpoints',
      summary: 'Checkpoints written after each epoch',
      description: 'Where each epoch\'s weights are in S3; a paused or retried job resumes from the latest.',
      params: IdParams,
      response: { 200: CheckpointsResponse, ...errorResponses({ 404: ['job_not_found'] }) },
    },
    handler: async (req) => {
      const rows = await service.checkpoints(tenantOf(req), req.params.id);
      return {
        jobId: req.params.id,
        data: rows.map((c) => ({ epoch: c.epoch, uri: `s3://${app.storage.bucket}/${c.prefix}model.json`, sizeBytes: c.sizeBytes, createdAt: c.createdAt.toISOString() })),
      };
    },
  });

}

/** Cancel, pause and resume. */
function control(app: App, { config, service, tags, job }: Ctx) {
  app.post('/v1/jobs/:id/cancel', {
    schema: {
      tags,
      operationId: 'cancelJob',
      summary: 'Cancel a job',
      description: 'A queued or paused job never runs; a running one stops at its next batch and keeps its checkpoints. Cancelling a cancelled job is a no-op.',
      params: IdParams,
      response: { 202: job, ...errorResponses({ 404: ['job_not_found'], 409: ['job_not_cancellable'] }) },
    },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.cancel(tenantOf(req), req.params.id))),
  });

  app.post('/v1/jobs/:id/pause', {
    schema: {
      tags,
      operationId: 'pauseJob',
      summary: 'Pause a job',
      description: 'A queued job is set aside at once; a running one checkpoints at its next batch and frees its worker. Resume it with POST /v1/jobs/{id}/resume.',
      params: IdParams,
      response: { 202: job, ...errorResponses({ 404: ['job_not_found'], 409: ['job_not_pausable'] }) },
    },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.pause(tenantOf(req), req.params.id))),
  });

  app.post('/v1/jobs/:id/resume', {
    schema: {
      tags,
      operationId: 'resumeJob',
      summary: 'Resume a paused job',
      description: 'The job goes back to the queue and continues from its latest checkpoint, on any worker.',
      params: IdParams,
      response: { 202: job, ...errorResponses({ 404: ['job_not_found'], 409: ['job_not_paused'], 503: ['queue_unavailable'] }) },
    },
    handler: async (req, reply) => reply.status(202).send(jobView(await service.resume(tenantOf(req), req.params.id))),
  });

}

/** A job's webhook deliveries. */
function deliveries(app: App, { service, tags }: Ctx) {
  app.get('/v1/jobs/:id/webhook-deliveries', {
    schema: {
      tags,
      operationId: 'listJobWebhookDeliveries',
      summary: 'Webhook deliveries of the job\'s end, with every attempt',
      description: 'Empty until the job with a webhook finishes; then one delivery, retried with backoff until WEBHOOK_MAX_ATTEMPTS.',
      params: IdParams,
      response: { 200: WebhookDeliveriesResponse, ...errorResponses({ 404: ['job_not_found'] }) },
    },
    handler: async (req) => {
      const rows = await service.webhookDeliveries(tenantOf(req), req.params.id);
      return {
        jobId: req.params.id,
        data: rows.map((d) => ({
          id: d.id,
          event: d.event,
          url: d.url,
          status: d.status,
          attempts: d.attempts,
          attemptLog: d.attemptLog,
          nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
          deliveredAt: d.deliveredAt?.toISOString() ?? null,
          createdAt: d.createdAt.toISOString(),
        })),
      };
    },
  });

}

/** A job's event log: paged, or streamed as Server-Sent Events. */
function events(app: App, { config, service, tags }: Ctx) {
  app.get('/v1/jobs/:id/events', {
    schema: {
      tags,
      operationId: 'listJobEvents',
      summary: 'The job\'s event log, or a live event stream',
      description:
        'JSON: the events after `after`, oldest first. With `Accept: text/event-stream`: a Server-Sent Events stream of the same events (SSE id = event id, ' +
        'SSE event = its type), resumable with Last-Event-ID, ending with an `end` event once the job has finished.',
      params: IdParams,
      querystring: jobEventQuery(config.limits.eventPageSize),
      response: {
        200: {
          description: 'A page of events, or the event stream',
          content: {
            'application/json': { schema: JobEventPage },
            'text/event-stream': { schema: { type: 'string', description: 'id: <event id>\nevent: <type>\ndata: <the event as JSON>' } },
          },
        },
        ...errorResponses({ 400: ['invalid_cursor', 'page_size_exceeded'], 404: ['job_not_found'] }),
      },
    },
    handler: async (req, reply) => {
      const id = req.params.id;
      const limit = checkPageSize(req.query.limit, config.limits.eventPageSize, 'MAX_EVENT_PAGE_SIZE');
      const after = eventCursor(req.query.after, req.headers['last-event-id']);
      if ((req.headers.accept ?? '').includes('text/event-stream')) {
        await service.get(tenantOf(req), id); // 404 before the stream starts
        return streamEvents(req, reply, {
          after: async (cursor, limit) => (await service.eventsAfter(id, cursor, limit)).map(eventView),
          status: () => service.status(id),
        }, after, config.eventsPollMs);
      }
      const rows = await service.events(tenantOf(req), id, after, limit + 1);
      const page = rows.slice(0, limit).map(eventView);
      const hasMore = rows.length > limit;
      return { jobId: id, data: page, hasMore, nextCursor: hasMore ? page.at(-1)!.id : null };
    },
  });
}

const jobs: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const ctx: Ctx = { config, service: new JobService(app.db, app.sql, app.queue, config), tags: ['jobs'], job: { $ref: 'Job' } };
  for (const group of [submit, reads, results, control, deliveries, events]) group(app, ctx);
};

export default jobs;
