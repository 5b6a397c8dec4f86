// Every request names its caller with `Authorization: Bearer <key>`. A tenant
// key scopes the request to its tenant; the admin key (ADMIN_API_KEY) reaches
// only the admin surfaces. Routes say what they need in `config.auth`:
// 'tenant' (the default), 'admin', 'public' (health, the OpenAPI document), or
// 'signed' (a tenant key, or a valid signed URL for that model).
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { ForbiddenError, UnauthorizedError } from '../../../shared/errors.ts';
import { bearer, hashKey, sameSecret } from '../../../shared/auth/api-keys.ts';
import { verifyModelUrl } from '../../../shared/auth/signed-urls.ts';
import { createRedis } from '../../../shared/queue/contract.ts';
import { KeyCache } from '../services/key-cache.ts';

export type AuthMode = 'tenant' | 'admin' | 'public' | 'signed';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
  interface FastifyRequest {
    /** The caller's tenant; null for the admin key, public routes and signed URLs. */
    tenantId: string | null;
    isAdmin: boolean;
    /** The model a valid signed URL opens. */
    signedModelId: string | null;
  }
  interface FastifyInstance {
    urlSigningSecret: string;
    /** After a key's revokedAt is written: refuse it here now, and tell the other instances. */
    apiKeyRevoked(hash: string): Promise<void>;
  }
}

const LAST_USED_EVERY_MS = 60_000;

/** Revoked keys are dropped from this instance's cache and, over Redis pub/sub, from the others'. */
function shareRevocations(app: FastifyInstance, config: Config, keys: KeyCache): void {
  const channel = `finetune:${config.queueName}:api-key-revoked`;
  // Its own connection: a subscribed connection can do nothing else. Missed messages while it is
  // down are covered by the cache's bound; on every (re)connect the cache starts over anyway.
  const sub = createRedis(config);
  sub.on('error', () => undefined); // the queue's connection reports Redis trouble
  sub.on('ready', () => {
    keys.clear();
    sub.subscribe(channel).catch(() => undefined);
  });
  sub.on('message', (_channel: string, hash: string) => keys.drop(hash));
  app.addHook('onClose', async () => {
    await sub.quit().catch(() => sub.disconnect());
  });
  app.decorate('apiKeyRevoked', async (hash: string) => {
    keys.drop(hash);
    await app.redis?.publish(channel, hash).catch((err: Error) => app.log.warn({ err: err.message }, `key revocation not broadcast; other instances refuse it within ${config.auth.keyCacheMs} ms`));
  });
}

function signed(app: FastifyInstance, req: FastifyRequest): boolean {
  const { id } = (req.params ?? {}) as { id?: string };
  const { expires, signature } = (req.query ?? {}) as { expires?: string; signature?: string };
  if (!id || !expires || !signature) return false;
  return verifyModelUrl(app.urlSigningSecret, id, Number(expires), signature);
}

async function authenticate(app: FastifyInstance, config: Config, keys: KeyCache, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const mode = req.routeOptions.config?.auth ?? 'tenant';
  if (mode === 'public') return;
  const key = bearer(req.headers.authorization);
  if (!key) {
    if (mode === 'signed' && signed(app, req)) {
      req.signedModelId = (req.params as { id: string }).id;
      return;
    }
    reply.header('www-authenticate', 'Bearer');
    throw new UnauthorizedError('unauthorized', 'Send your API key as "Authorization: Bearer <key>"');
  }
  if (config.auth.adminApiKey && sameSecret(key, config.auth.adminApiKey)) {
    if (mode !== 'admin') throw new ForbiddenError('tenant_key_required', 'The admin key manages tenants and keys; use a tenant\'s key for its data');
    req.isAdmin = true;
    return;
  }
  const found = await keys.get(hashKey(key));
  if (!found) {
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
    throw new UnauthorizedError('invalid_api_key', 'The API key is not valid or has been revoked');
  }
  if (mode === 'admin') throw new ForbiddenError('admin_only', 'This needs the admin key');
  req.tenantId = found.tenantId;
  const now = Date.now();
  if (!found.lastUsedAt || now - found.lastUsedAt > LAST_USED_EVERY_MS) {
    found.lastUsedAt = now;
    void app.db.apiKey.update({ where: { id: found.keyId }, data: { lastUsedAt: new Date(now) } }).catch(() => undefined);
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    // Without a shared secret, URLs this instance signs open only on this instance.
    app.decorate('urlSigningSecret', config.auth.urlSigningSecret ?? randomBytes(32).toString('hex'));
    app.decorateRequest('tenantId', null);
    app.decorateRequest('isAdmin', false);
    app.decorateRequest('signedModelId', null);

    const keys = new KeyCache(config.auth.keyCacheMs, async (hash) => {
      const row = await app.db.apiKey.findUnique({ where: { hash }, select: { id: true, tenantId: true, revokedAt: true, lastUsedAt: true } });
      return row && !row.revokedAt ? { keyId: row.id, tenantId: row.tenantId, lastUsedAt: row.lastUsedAt?.getTime() ?? null } : null;
    });
    shareRevocations(app, config, keys);

    // onRequest: before the body is even read, so strangers cost no parsing.
    app.addHook('onRequest', async (req, reply) => authenticate(app, config, keys, req, reply));
  },
  { name: 'auth', dependencies: ['db'] },
);

/** The caller's tenant, on a route whose auth mode guarantees one. */
export function tenantOf(req: FastifyRequest): string {
  if (!req.tenantId) throw new UnauthorizedError('unauthorized', 'Send your API key as "Authorization: Bearer <key>"');
  return req.tenantId;
}
