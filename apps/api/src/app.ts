// buildApp(config) builds the HTTP API without listening: tests drive it with
// supertest, and server.ts (or apps/main.ts) is the only thing that listens.
import Fastify, { type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../../shared/config.ts';
import { loggerOptions } from '../../shared/logger.ts';
import { ErrorSchema } from './schemas/common.ts';
import { DatasetSchema } from './schemas/datasets.ts';
import { EpochMetricSchema, JobSchema } from './schemas/jobs.ts';
import { ModelSchema } from './schemas/models.ts';
import { ApiKeySchema } from './schemas/admin.ts';
import dbPlugin from './plugins/db.ts';
import jobChangesPlugin from './plugins/job-changes.ts';
import authPlugin from './plugins/auth.ts';
import securityHeadersPlugin from './plugins/security-headers.ts';
import corsPlugin from './plugins/cors.ts';
import rateLimitPlugin from './plugins/rate-limit.ts';
import errorsPlugin from './plugins/errors.ts';
import { clientErrorHandler, frameworkErrors } from './plugins/transport-errors.ts';
import idempotencyPlugin from './plugins/idempotency.ts';
import queuePlugin from './plugins/queue.ts';
import storagePlugin from './plugins/storage.ts';
import swaggerPlugin from './plugins/swagger.ts';
import webhooksPlugin from './plugins/webhooks.ts';
import metricsPlugin from './plugins/metrics.ts';
import bullBoardPlugin from './plugins/bull-board.ts';
import dashboardPlugin from './plugins/dashboard.ts';
import servicesPlugin from './plugins/services.ts';
import datasetRoutes from './routes/datasets.ts';
import datasetRegistrationRoutes from './routes/dataset-registration.ts';
import healthRoutes from './routes/health.ts';
import adminRoutes from './routes/admin.ts';
import jobRoutes from './routes/jobs.ts';
import adviceRoutes from './routes/advice.ts';
import sweepRoutes from './routes/sweeps.ts';
import jobRetryRoutes from './routes/job-retry.ts';
import modelRoutes from './routes/models.ts';
import checkpointFileRoutes from './routes/checkpoint-files.ts';
import uploadRoutes from './routes/uploads.ts';

type Opts = { config: Config };

/** What the API stands on, each decorating the app and closing on teardown: Postgres, Redis and BullMQ, S3. */
const infrastructure = fp<Opts>(async (app, { config }) => {
  await app.register(dbPlugin, { databaseUrl: config.databaseUrl, embedded: !!config.embeddedPg });
  await app.register(queuePlugin, { config });
  await app.register(storagePlugin, { config });
  await app.register(jobChangesPlugin, { config });
}, { name: 'infrastructure' });

/** How every request is handled, before and around its route. Swagger and idempotency see routes as they are added. */
const appPlugins = fp<Opts>(async (app, { config }) => {
  await app.register(securityHeadersPlugin);
  await app.register(corsPlugin, { config });
  await app.register(errorsPlugin);
  await app.register(swaggerPlugin);
  await app.register(authPlugin, { config });
  await app.register(idempotencyPlugin, { config });
  await app.register(rateLimitPlugin, { config });
}, { name: 'app-plugins', dependencies: ['infrastructure'] });

/** What runs beside the routes: webhook delivery, Prometheus metrics, the queue board. */
const background = fp<Opts>(async (app, { config }) => {
  await app.register(webhooksPlugin, { config });
  await app.register(metricsPlugin, { config });
  await app.register(bullBoardPlugin, { config });
}, { name: 'background', dependencies: ['infrastructure', 'app-plugins'] });

const routes = fp<Opts>(async (app, { config }) => {
  await app.register(healthRoutes, { config });
  await app.register(datasetRoutes, { config });
  await app.register(datasetRegistrationRoutes, { config });
  await app.register(modelRoutes, { config });
  await app.register(uploadRoutes, { config });
  await app.register(jobRoutes, { config });
  await app.register(jobRetryRoutes, { config });
  await app.register(adviceRoutes, { config });
  await app.register(sweepRoutes, { config });
  await app.register(adminRoutes);
  await app.register(checkpointFileRoutes);
  await app.register(dashboardPlugin);
}, { name: 'routes', dependencies: ['app-plugins', 'services'] });

export interface BuildOptions {
  /** Override the logger (tests pass false). */
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(config: Config, opts: BuildOptions = {}) {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config),
    bodyLimit: config.bodyLimitBytes,
    // A client that sends part of a request (headers or a declared body) and stalls gets 408 and
    // loses the socket; Node checks every connection this often (its default is 30 s).
    requestTimeout: config.http.requestTimeoutMs,
    http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, config.http.headersTimeoutMs) },
    frameworkErrors,
    clientErrorHandler,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  for (const schema of [ErrorSchema, DatasetSchema, ModelSchema, EpochMetricSchema, JobSchema, ApiKeySchema]) app.addSchema(schema);
  await app.register(infrastructure, { config });
  await app.register(appPlugins, { config });
  await app.register(background, { config });
  await app.register(servicesPlugin, { config });
  await app.register(routes, { config });
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
