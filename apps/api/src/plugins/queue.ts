import fp from 'fastify-plugin';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../../shared/config.ts';
import { createQueue, createRedis, type JobPayload } from '../../../shared/queue/contract.ts';

declare module 'fastify' {
  interface FastifyInstance {
    queue: Queue<JobPayload>;
    redis: Redis;
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const redis = createRedis(config, false, true);
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'));
    const queue = createQueue(config, redis);
    queue.on('error', (err) => app.log.warn({ err: err.message }, 'queue error'));
    app.decorate('redis', redis);
    app.decorate('queue', queue);
    app.addHook('onClose', async () => {
      await queue.close();
      await redis.quit().catch(() => undefined);
    });
  },
  { name: 'queue' },
);
