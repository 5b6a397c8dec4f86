// The OpenAPI 3.1 document is generated from the same route schemas that
// validate requests, served at /openapi.json and as a page at /docs (Swagger
// UI's own assets, so it works offline). Both are public: they hold no tenant data.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import { errorCatalogueMarkdown } from '../schemas/errors.ts';
import { documentRoute, openapiTransform, securitySchemes } from '../schemas/route-docs.ts';

export interface RegisteredRoute {
  method: string;
  url: string;
  /** schema.hide: not in the document (static assets, pages that are not JSON APIs). */
  hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered, for the check that the document covers them (test/openapi.test.ts). */
    registeredRoutes: RegisteredRoute[];
  }
}

const DESCRIPTION = `Submit fine-tuning jobs, follow them, and fetch the trained models.

**Keys.** Send \`Authorization: Bearer <key>\`. A tenant key reaches that tenant's datasets, models and jobs;
the admin key (ADMIN_API_KEY) only manages tenants and keys. Each operation names the key it needs
(\`tenantKey\`, \`adminKey\`, or none). Model files also open with a signed URL.

**Errors.** Every error is \`{"error": {"code", "message", "details?"}}\`; each operation lists the codes it can give,
one example per code. Unknown paths give \`404 route_not_found\`. Every code:

${errorCatalogueMarkdown()}`;

// Swagger UI needs its own scripts, styles and data: images; everything else keeps the API's strict policy.
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export default fp(
  async (app) => {
    const routes: RegisteredRoute[] = [];
    app.decorate('registeredRoutes', routes);
    app.addHook('onRoute', (route) => {
      documentRoute(route);
      for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Fine-tuning service', version: '1.0.0', description: DESCRIPTION },
        components: { securitySchemes },
        tags: [
          { name: 'datasets', description: 'Training data: built-in MNIST, or CSV/NDJSON from S3' },
          { name: 'models', description: 'TensorFlow.js LayersModels: registered bases and fine-tuned outputs' },
          { name: 'uploads', description: 'Presigned URLs to put files in your upload area, for registration' },
          { name: 'jobs', description: 'Fine-tuning and pretraining jobs, their metrics, checkpoints and events' },
          { name: 'advice', description: 'How much to fine-tune: measured transferability, data, similarity and costed options (docs/advice.md)' },
          { name: 'sweeps', description: 'Hyperparameter sweeps: grid or random search of jobs, ASHA early stopping, one feature pass per frozen cut (docs/sweeps.md)' },
          { name: 'admin', description: 'Tenants and API keys (admin key)' },
          { name: 'health', description: 'Liveness and readiness' },
          { name: 'observability', description: 'Prometheus metrics' },
          { name: 'docs', description: 'This document' },
        ],
      },
      transform: openapiTransform,
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });

    app.get('/openapi.json', {
      config: { auth: 'public' },
      schema: {
        tags: ['docs'],
        operationId: 'getOpenApiDocument',
        summary: 'This OpenAPI 3.1 document',
        description: 'Generated from the route schemas that validate requests. Swagger UI shows it at /docs.',
        response: { 200: Type.Object({ openapi: Type.String(), info: Type.Object({}, { additionalProperties: true }), paths: Type.Object({}, { additionalProperties: true }) }, { additionalProperties: true }) },
      },
      handler: async () => app.swagger(),
    });

    // Its own context, so that its routes (page, assets, /docs/json) are public without touching anyone else's.
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, auth: 'public' };
      });
      await docs.register(swaggerUi, {
        routePrefix: '/docs',
        staticCSP: DOCS_CSP,
        uiConfig: { deepLinking: true, persistAuthorization: false, tryItOutEnabled: false },
        theme: { title: 'Fine-tuning service API' },
      });
    });
  },
  { name: 'swagger' },
);
