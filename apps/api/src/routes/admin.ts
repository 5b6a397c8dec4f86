// The operator's surface, behind ADMIN_API_KEY: tenants and their API keys.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { ApiKeyList, CreateKeyBody, CreatedApiKey, CreateTenantBody, TenantList, TenantSchema } from '../schemas/admin.ts';
import { keyView, tenantView } from '../services/tenants.ts';

type App = Parameters<FastifyPluginAsyncTypebox>[0];
interface Ctx { tenants: App['tenantService']; tags: string[]; config: { auth: 'admin' } }

/** Creating and listing tenants. */
function tenantRoutes(app: App, { tenants, tags, config }: Ctx) {
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
    handler: async (req, reply) => reply.status(201).send(tenantView(await tenants.create(req.body.name))),
  });

  app.get('/v1/admin/tenants', {
    config,
    schema: { tags, operationId: 'listTenants', summary: 'List tenants', description: 'Oldest first, at most 1000.', response: { 200: TenantList, ...errorResponses({}) } },
    handler: async () => ({ data: (await tenants.list()).map(tenantView) }),
  });

}

/** A tenant's API keys: issue, list, revoke. */
function keyRoutes(app: App, { tenants, tags, config }: Ctx) {
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
      const { row, key } = await tenants.createKey(req.params.id, req.body?.name ?? 'default');
      return reply.status(201).send({ ...keyView(row), key });
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
    handler: async (req) => ({ data: (await tenants.keys(req.params.id)).map(keyView) }),
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
      const key = await tenants.revokeKey(req.params.id);
      // This instance forgets the key now; the others hear it over Redis (AUTH_CACHE_MS bounds the rest).
      await app.apiKeyRevoked(key.hash);
      return keyView(key);
    },
  });
}

const admin: FastifyPluginAsyncTypebox = async (app) => {
  const ctx: Ctx = { tenants: app.tenantService, tags: ['admin'], config: { auth: 'admin' } };
  for (const group of [tenantRoutes, keyRoutes]) group(app, ctx);
};

export default admin;
