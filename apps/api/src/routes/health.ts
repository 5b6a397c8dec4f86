import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../../shared/config.ts';

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) });
const Ready = Type.Object({
  ready: Type.Boolean(),
  down: Type.Array(Type.Union([Type.Literal('postgres'), Type.Literal('redis'), Type.Literal('s3')]), { description: 'The dependencies that are unreachable now; empty when ready (docs/outages.md)' }),
  checks: Type.Object({ postgres: Check, redis: Check, s3: Check }),
  workers: Type.Array(
    Type.Object({
      id: Type.String(),
      host: Type.String(),
      pid: Type.Integer(),
      backend: Type.String({ description: 'What its training processes run on: tensorflow-gpu, tensorflow, webgpu, wasm or cpu' }),
      device: Type.Optional(Type.String({ description: 'Where: for native TensorFlow, the device TensorFlow says it ran a matmul on (e.g. /job:localhost/replica:0/task:0/device:GPU:0)' })),
      concurrency: Type.Integer(),
      startedAt: Type.String(),
    }),
  ),
});

const health: FastifyPluginAsyncTypebox<{ config: Config }> = async (app) => {
  const tags = ['health'];
  app.get('/healthz', {
    config: { auth: 'public' },
    schema: { tags, operationId: 'getHealth', summary: 'The process is up', description: 'Liveness: answers without touching Postgres, Redis or S3.', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: { auth: 'public' },
    schema: {
      tags,
      operationId: 'getReadiness',
      summary: 'Postgres, Redis and S3 are reachable; lists live workers and their tfjs backends',
      description: 'Readiness: 200 when every check passes, 503 (same body) when one fails.',
      response: { 200: Ready, 503: { ...Ready, description: 'A check failed' } },
    },
    handler: async (_req, reply) => {
      const report = await app.readinessService.report();
      return reply.status(report.ready ? 200 : 503).send(report);
    },
  });
};

export default health;
