// Bull Board, the BullMQ queue dashboard, under /admin/queues, for the
// operator only. A browser can't send a Bearer header, so besides
// `Authorization: Bearer <admin key>` the board takes HTTP Basic auth with the
// admin key as password (any user name): the browser asks once, then sends it
// with every request under the prefix. Not mounted without an admin key.
// Read-only: Postgres is the source of truth for jobs, and a job retried or
// removed behind its back would disagree with it; cancel and pause go through the API.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Config } from '../../../shared/config.ts';
import { bearer, sameSecret } from '../../../shared/auth/api-keys.ts';

export const BULL_BOARD_PREFIX = '/admin/queues';

// The board's own page: same-origin scripts and styles, inline style attributes, nothing from elsewhere.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

function presentedKey(header: string | undefined): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header ?? '');
  if (!m) return bearer(header);
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Browsers send Basic credentials with cross-site requests too: refuse unsafe methods from other origins. */
function crossSite(req: FastifyRequest): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.host;
  } catch {
    return true;
  }
}

function deny(reply: FastifyReply, status: 401 | 403, code: string, message: string) {
  if (status === 401) reply.header('www-authenticate', 'Basic realm="finetune admin", charset="UTF-8"');
  // Sent here, not thrown: the board's routes have their own error handler, which knows nothing of our error shape.
  return reply.status(status).send({ error: { code, message } });
}

const bullBoard: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const adminKey = config.auth.adminApiKey;
  if (!adminKey) return;

  // The app-wide auth hook knows only Bearer keys; this plugin checks the admin key itself, in both forms.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: 'public' };
  });
  app.addHook('onRequest', async (req, reply) => {
    const key = presentedKey(req.headers.authorization);
    if (!key || !sameSecret(key, adminKey)) {
      return deny(reply, 401, 'unauthorized', 'The queue dashboard needs the admin key: HTTP Basic auth with it as password, or "Authorization: Bearer <key>"');
    }
    if (crossSite(req)) return deny(reply, 403, 'cross_site_request', 'Changes to the queue dashboard must come from its own pages');
    req.isAdmin = true;
    reply.header('content-security-policy', CSP);
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PREFIX);
  createBullBoard({
    queues: [new BullMQAdapter(app.queue, { readOnlyMode: true })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'finetune' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PREFIX });
};

export default bullBoard;
