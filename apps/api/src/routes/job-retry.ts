import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { JobService, jobView } from '../services/jobs.ts';
import { retryJob } from '../services/job-retry.ts';
import { tenantOf } from '../plugins/auth.ts';

const jobRetry: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const service = new JobService(app.db, app.sql, app.queue, config);
  app.post('/v1/jobs/:id/retry', {
    schema: {
      tags: ['jobs'],
      operationId: 'retryJob',
      summary: 'Retry a failed job from its latest checkpoint',
      description:
        'The failed job goes back to the queue and continues from its latest checkpoint on any worker, with its recorded epochs kept and a fresh JOB_ATTEMPTS. ' +
        'Meant for a job that failed with dependency_unavailable (an outage longer than OUTAGE_BUDGET_MS). ' +
        "A sweep's trial is retried through its sweep: only while the sweep runs, is not being cancelled and has fewer than `parallelism` live trials (409 sweep_trial_not_retryable), and within MAX_QUEUED_JOBS_PER_TENANT (429).",
      params: IdParams,
      response: { 202: { $ref: 'Job' }, ...errorResponses({ 404: ['job_not_found'], 409: ['job_not_retryable', 'sweep_trial_not_retryable'], 429: ['too_many_queued_jobs'], 503: ['queue_unavailable'] }) },
    },
    handler: async (req, reply) => {
      await retryJob(app.db, app.queue, config, tenantOf(req), req.params.id);
      return reply.status(202).send(jobView(await service.get(tenantOf(req), req.params.id)));
    },
  });
};

export default jobRetry;
