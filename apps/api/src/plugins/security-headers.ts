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

export default fp(
  async (app) => {
    app.addHook('onSend', async (_req, reply, payload) => {
      for (const [name, value] of Object.entries(HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
      return payload;
    });
  },
  { name: 'security-headers' },
);
