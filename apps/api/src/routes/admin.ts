// The operator's surface, behind ADMIN_API_KEY: tenants and their API keys.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKey } from '../../../shared/generated/prisma/client.ts';
import { newApiKey } from '../../../shared/auth/api-keys.ts';
import { NotFoundError } from '../../../shared/errors.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { ApiKeyList, CreateKeyBody, CreatedApiKey, CreateTenantBody, TenantList, TenantSchema } from '../schemas/admin.ts';

const keyView = (k: ApiKey) => ({
  id: k.id,
  tenantId: k.tenantId,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});
const tenantView = (t: { id: string; name: string; createdAt: Date }) => ({ id: t.id, name: t.name, createdAt: t.createdAt.toISOString() });

const admin: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['admin'];
  const config = { auth: 'admin' as const };

  app.post('/v1/admin/tenants', {
    config,
    schema: {
      tags,
      operationId: 'createTenant',
      summary: 'Create a tenant',
      description: 'A tenant owns datasets, models and jobs; give it a key with POST /v1/admin/tenants/{id}/keys.',
      body: CreateTenantBody,
      response: { 201: TenantSchema, ...errorResponses({}) },
    },
    handler: async (req, reply) => reply.status(201).send(tenantView(await app.db.tenant.create({ data: { id: randomUUID(), name: req.body.name } }))),
  });

  app.get('/v1/admin/tenants', {
    config,
    schema: { tags, operationId: 'listTenants', summary: 'List tenants', description: 'Oldest first, at most 1000.', response: { 200: TenantList, ...errorResponses({}) } },
    handler: async () => ({ data: (await app.db.tenant.findMany({ orderBy: { createdAt: 'asc' }, take: 1000 })).map(tenantView) }),
  });

  app.post('/v1/admin/tenants/:id/keys', {
    config,
    schema: {
      tags,
      operationId: 'createApiKey',
      summary: 'Create an API key for a tenant',
      description: 'The key is in this response only: the service keeps its hash. Send it as `Authorization: Bearer <key>`.',
      params: IdParams,
      body: CreateKeyBody,
      response: { 201: CreatedApiKey, ...errorResponses({ 404: ['tenant_not_found'] }) },
    },
    handler: async (req, reply) => {
      const tenant = await app.db.tenant.findUnique({ where: { id: req.params.id } });
      if (!tenant) throw new NotFoundError('tenant', req.params.id);
      const fresh = newApiKey();
      const row = await app.db.apiKey.create({ data: { id: randomUUID(), tenantId: tenant.id, name: req.body?.name ?? 'default', prefix: fresh.prefix, hash: fresh.hash } });
      return reply.status(201).send({ ...keyView(row), key: fresh.key });
    },
  });

  app.get('/v1/admin/tenants/:id/keys', {
    config,
    schema: {
      tags,
      operationId: 'listApiKeys',
      summary: 'List a tenant\'s keys (never the keys themselves)',
      description: 'Each key\'s prefix, when it was last used and whether it is revoked.',
      params: IdParams,
      response: { 200: ApiKeyList, ...errorResponses({ 404: ['tenant_not_found'] }) },
    },
    handler: async (req) => {
      if (!(await app.db.tenant.findUnique({ where: { id: req.params.id } }))) throw new NotFoundError('tenant', req.params.id);
      return { data: (await app.db.apiKey.findMany({ where: { tenantId: req.params.id }, orderBy: { createdAt: 'asc' } })).map(keyView) };
    },
  });

  app.post('/v1/admin/keys/:id/revoke', {
    config,
    schema: {
      tags,
      operationId: 'revokeApiKey',
      summary: 'Revoke a key',
      description: 'It stops working at once. Revoking a revoked key changes nothing.',
      params: IdParams,
      response: { 200: { $ref: 'ApiKey' }, ...errorResponses({ 404: ['api_key_not_found'] }) },
    },
    handler: async (req) => {
      const found = await app.db.apiKey.findUnique({ where: { id: req.params.id } });
      if (!found) throw new NotFoundError('api_key', req.params.id);
      if (found.revokedAt) return keyView(found);
      const revoked = await app.db.apiKey.update({ where: { id: found.id }, data: { revokedAt: new Date() } });
      await app.apiKeyRevoked(found.hash);
      return keyView(revoked);
    },
  });
};

export default admin;
