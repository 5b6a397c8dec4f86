// Per-tenant request rate (OWASP API4): a fixed one-minute window counted in
// Redis, so every API instance shares it. Over the limit is 429 with
// Retry-After. If Redis is down the limit is not enforced: availability of the
// API matters more than the exact count for a minute.
import fp from 'fastify-plugin';
import type { Config } from '../../../shared/config.ts';
import { TooManyRequestsError } from '../../../shared/errors.ts';

// One command per request: count, and give a new window its expiry (two minutes, so a window is
// never lost while it counts). Same count as MULTI INCR EXPIRE, a quarter of the commands.
const COUNT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`;

type Counting = { finetuneRateCount(key: string, ttlSeconds: number): Promise<number> };

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const limit = config.limits.requestsPerMinute;
    app.redis.defineCommand('finetuneRateCount', { numberOfKeys: 1, lua: COUNT });
    const redis = app.redis as typeof app.redis & Counting;
    app.addHook('onRequest', async (req) => {
      if (!req.tenantId) return;
      const window = Math.floor(Date.now() / 60_000);
      const key = `finetune:${config.queueName}:rate:${req.tenantId}:${window}`;
      let count: number;
      try {
        count = await redis.finetuneRateCount(key, 120);
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'rate limit not checked: Redis unavailable');
        return;
      }
      if (count > limit) {
        const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - Date.now()) / 1000));
        throw new TooManyRequestsError('rate_limited', `More than ${limit} requests this minute (RATE_LIMIT_PER_MINUTE)`, retryAfter, { limit, windowSeconds: 60 });
      }
    });
  },
  { name: 'rate-limit', dependencies: ['auth', 'queue'] },
);
