// CORS is off unless CORS_ORIGINS names the browser origins that may call the
// API: with it unset, no Access-Control-* header is ever sent, so browsers
// refuse cross-origin calls. Registered before auth, so that a preflight
// (which carries no key) is answered by @fastify/cors in its onRequest hook.
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import type { Config } from '../../../shared/config.ts';

export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (config.corsOrigins.length === 0) return;
    await app.register(cors, {
      // Exact origins only: no wildcard, and credentials are never needed (the key is a header).
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'location'],
      maxAge: 600,
    });
  },
  { name: 'cors' },
);
