// Headers that keep browsers from doing anything clever with API responses.
// CORS headers come only from plugins/cors.ts, and only for CORS_ORIGINS; the
// API is for services, and the dashboard it will serve lives on the same origin.
import fp from 'fastify-plugin';

const HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-store',
};

const NAMES = Object.keys(HEADERS);

export default fp(
  async (app) => {
    // A callback hook, not async: it runs on every response and has nothing to wait for.
    app.addHook('onSend', (_req, reply, payload, done) => {
      for (const name of NAMES) if (!reply.hasHeader(name)) reply.header(name, HEADERS[name]);
      done(null, payload);
    });
  },
  { name: 'security-headers' },
);
