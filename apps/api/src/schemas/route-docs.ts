// What every route's OpenAPI entry gets from its options rather than from
// its own schema: who may call it (config.auth), the error codes that come
// from the plugins in front of it, and a curl line. Applied by the swagger
// plugin's onRoute hook, before fastify compiles the route's schemas.
import type { FastifySchema, RouteOptions } from 'fastify';
import type { AuthMode } from '../plugins/auth.ts';
import { withErrors, type ErrorCode, type RouteErrors } from './errors.ts';

export const securitySchemes = {
  tenantKey: {
    type: 'http',
    scheme: 'bearer',
    description: "A tenant's API key (POST /v1/admin/tenants/{id}/keys). Every request sees only that tenant's datasets, models and jobs.",
  },
  adminKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_API_KEY: manages tenants and keys, and reaches nothing of a tenant\'s data.',
  },
  signedUrl: {
    type: 'apiKey',
    in: 'query',
    name: 'signature',
    description: 'Model files only: `?expires=…&signature=…` from POST /v1/models/{id}/download-url, instead of a key.',
  },
} as const;

const SECURITY: Record<AuthMode, Array<Record<string, string[]>>> = {
  tenant: [{ tenantKey: [] }],
  admin: [{ adminKey: [] }],
  signed: [{ tenantKey: [] }, { signedUrl: [] }],
  public: [],
};

const AUTH_ERRORS: Record<AuthMode, RouteErrors> = {
  tenant: { 401: ['unauthorized', 'invalid_api_key'], 403: ['tenant_key_required'], 429: ['rate_limited'] },
  signed: { 401: ['unauthorized', 'invalid_api_key'], 403: ['tenant_key_required'], 429: ['rate_limited'] },
  admin: { 401: ['unauthorized', 'invalid_api_key'], 403: ['admin_only'] },
  public: {},
};

const BODY_ERRORS: RouteErrors = {
  400: ['invalid_json', 'empty_body', 'invalid_content_length', 'bad_request', 'invalid_text'],
  413: ['body_too_large'],
  415: ['unsupported_media_type'],
};

/** Refused before any route runs (Node's HTTP parser, the router): any operation may get them. */
const TRANSPORT_ERRORS: RouteErrors = { 400: ['malformed_request', 'invalid_url'], 408: ['request_timeout'], 431: ['headers_too_large'] };

const IDEMPOTENCY_ERRORS: RouteErrors = { 400: ['invalid_idempotency_key'], 409: ['idempotency_key_in_flight'], 422: ['idempotency_key_reused'] };

function merge(...all: RouteErrors[]): RouteErrors {
  const out: Record<number, ErrorCode[]> = {};
  for (const errors of all) for (const [status, codes] of Object.entries(errors)) (out[Number(status)] ??= []).push(...(codes ?? []));
  return out;
}

type Schema = Record<string, unknown> & { hide?: boolean; params?: unknown; body?: unknown; querystring?: unknown; response?: Record<string, unknown> };

function firstExample(schema: unknown): unknown {
  return (schema as { examples?: unknown[] } | undefined)?.examples?.[0];
}

/** A curl line that runs the route with its documented examples. */
function curl(method: string, url: string, schema: Schema, auth: AuthMode): string {
  const params = (schema.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const path = url.replace(/:(\w+)/g, (_m, name: string) => String(firstExample(params[name]) ?? `$${name.toUpperCase()}`));
  const query = firstExample(schema.querystring) as Record<string, unknown> | undefined;
  const qs = query ? `?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}` : '';
  const parts = [`curl${method === 'GET' ? '' : ` -X ${method}`} "$API${path}${qs}"`];
  if (auth === 'tenant' || auth === 'signed') parts.push('-H "Authorization: Bearer $API_KEY"');
  if (auth === 'admin') parts.push('-H "Authorization: Bearer $ADMIN_API_KEY"');
  const body = firstExample(schema.body);
  if (body !== undefined) parts.push(`-H 'content-type: application/json' -d '${JSON.stringify(body).replaceAll("'", "'\\''")}'`);
  return parts.join(' \\\n  ');
}

/** GET /v1/foo/:id/bar-baz → getV1FooByIdBarBaz, for routes that name no operationId. */
function defaultOperationId(method: string, url: string): string {
  const words = url.split(/[/_.-]+/).filter(Boolean).map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w)).flatMap((w) => w.split('-'));
  return method.toLowerCase() + words.map((w) => w.replace(/[^A-Za-z0-9]/g, '')).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' };

/** Success entries without a description get the status's name (the document needs one per response). */
function describeSuccess(response: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...response };
  for (const [status, entry] of Object.entries(out)) {
    if (status in SUCCESS && entry && typeof entry === 'object' && !('description' in entry)) out[status] = { ...entry, description: SUCCESS[status] };
  }
  return out;
}

/** Fills in security, the cross-cutting error codes and a curl sample; hidden and schema-less routes are left alone. */
export function documentRoute(route: RouteOptions): void {
  const schema = route.schema as Schema | undefined;
  if (!schema || schema.hide) return;
  const methods = [route.method].flat().map(String);
  if (methods.every((m) => m === 'HEAD')) return;
  const auth: AuthMode = route.config?.auth ?? 'tenant';
  const hasInput = Boolean(schema.params || schema.body || schema.querystring);
  const parsesBody = methods.some((m) => m !== 'GET' && m !== 'HEAD');
  const errors = merge(
    TRANSPORT_ERRORS,
    /:\w/.test(route.url) ? { 414: ['path_param_too_long'] } : {},
    AUTH_ERRORS[auth],
    hasInput ? { 400: ['validation_failed'] } : {},
    parsesBody ? BODY_ERRORS : {},
    methods.includes('POST') ? IDEMPOTENCY_ERRORS : {},
    { 500: ['internal_error'] },
    // Every route with a key looks it up in Postgres (docs/outages.md).
    auth === 'public' ? {} : { 503: ['dependency_unavailable'] },
  );
  // A fresh schema object: schemas shared between routes are left alone.
  const documented: Schema = {
    ...schema,
    operationId: schema.operationId ?? defaultOperationId(methods[0], route.url),
    security: (schema.security as typeof SECURITY[AuthMode] | undefined) ?? SECURITY[auth],
    response: describeSuccess(withErrors(schema.response, errors)),
    'x-codeSamples': schema['x-codeSamples'] ?? [{ lang: 'Shell', label: 'curl', source: curl(methods[0], route.url, schema, auth) }],
  };
  route.schema = documented;
}

/** A copy in which a property with a default is not required: the caller may leave it out (Ajv fills it in). */
function optionalDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(optionalDefaults);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'examples' || key === 'default' ? value : optionalDefaults(value);
  const properties = out.properties as Record<string, { default?: unknown }> | undefined;
  if (properties && Array.isArray(out.required)) {
    out.required = (out.required as string[]).filter((name) => properties[name]?.default === undefined);
    if ((out.required as string[]).length === 0) delete out.required;
  }
  return out;
}

/** @fastify/swagger's transform: the document's view of a route, leaving validation as it is. */
export function openapiTransform({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  // Typed as always there, but a route without a schema hands in undefined.
  const s = schema as Schema | undefined;
  if (!s || s.hide) return { schema, url };
  return { schema: { ...s, body: optionalDefaults(s.body), querystring: optionalDefaults(s.querystring) }, url };
}
