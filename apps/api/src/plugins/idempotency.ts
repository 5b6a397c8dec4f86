// Idempotency-Key on every POST, as Stripe does it: a retried request gets the
// first response back from Postgres (Idempotent-Replayed: true) instead of a
// second job, dataset or model. Keys live for IDEMPOTENCY_TTL_HOURS.
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { BadRequestError, ConflictError, UnprocessableError } from '../../../shared/errors.ts';
import { IdempotencyClaims, LEASE_MS, type Claim, type StoredResponse } from './idempotency-claims.ts';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;
const SWEEP_MS = 10 * 60_000;
/** Response headers worth replaying; the rest (request id, date) belong to each response. */
const REPLAYED_HEADERS = ['content-type', 'location'];

const HeaderSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x20-\\x7E]+$',
  description:
    'Makes the POST safe to retry: a repeat with the same key and body returns the first response (header Idempotent-Replayed: true) without doing it again. Keys are kept for IDEMPOTENCY_TTL_HOURS.',
};

/** Keys are per scope; one scope for now, per tenant once requests carry one. */
export function idempotencyScope(req: FastifyRequest): string {
  return req.tenantId ?? (req.isAdmin ? 'admin' : 'api');
}

/** Object keys sorted at every level, so {a,b} and {b,a} hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The request a key stands for: method, URL (ids in the path included) and body as the client sent it. */
export function requestHash(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${canonicalJson(body ?? null)}`).digest('hex');
}

/** Stored and replayed: a finished 2xx or 4xx. 409 and 429 say "try again later", so the key stays free. */
const storable = (status: number) => ((status >= 200 && status < 300) || (status >= 400 && status < 500)) && status !== 409 && status !== 429;

function appendHook<T>(existing: T | T[] | undefined, hook: T): T[] {
  return [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), hook];
}

async function preValidation(c: IdempotencyClaims, req: FastifyRequest) {
  if (req.method !== 'POST') return;
  const key = req.headers[HEADER];
  if (key === undefined) return;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new BadRequestError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  // Hashed before validation fills in defaults: the key stands for what the client sent.
  c.hashes.set(req, requestHash(req.method, req.url, req.body));
}

async function preHandler(c: IdempotencyClaims, req: FastifyRequest, reply: FastifyReply) {
  const hash = c.hashes.get(req);
  if (hash === undefined) return;
  const scope = idempotencyScope(req);
  const key = req.headers[HEADER] as string;
  // A few rounds: each conflict either decides the answer or clears an expired row and retries.
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = Date.now();
    const claim: Claim = { scope, key, createdAt: new Date(now), leaseUntil: new Date(now + LEASE_MS), settled: false };
    const { count } = await c.db.idempotencyKey.createMany({
      data: [{ scope, key, requestHash: hash, state: 'in_flight', createdAt: claim.createdAt, expiresAt: claim.leaseUntil }],
      skipDuplicates: true, // ON CONFLICT DO NOTHING: the primary key decides who owns the key
    });
    if (count === 1) {
      c.hold(req, claim);
      return;
    }
    const row = await c.db.idempotencyKey.findUnique({ where: { scope_key: { scope, key } } });
    if (!row) continue; // freed in between
    if (row.expiresAt.getTime() <= now) {
      // Expired, or an in_flight lease nobody renewed (its process died): reusable.
      await c.db.idempotencyKey.deleteMany({ where: { scope, key, state: row.state, expiresAt: row.expiresAt } });
      continue;
    }
    if (row.requestHash !== hash) {
      throw new UnprocessableError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request (another endpoint or body)');
    }
    if (row.state !== 'done') break;
    const stored = row.response as StoredResponse;
    reply.code(row.statusCode ?? 200).headers(stored.headers ?? {}).header('idempotent-replayed', 'true');
    return reply.send(stored.body ?? undefined);
  }
  throw new ConflictError('idempotency_key_in_flight', 'A request with this Idempotency-Key is still in progress; retry later');
}

async function onSend(c: IdempotencyClaims, req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const claim = c.claims.get(req);
  if (!claim || claim.settled) return payload;
  const status = reply.statusCode;
  if (!storable(status)) {
    await c.release(claim, req.log);
  } else if (payload == null || typeof payload === 'string') {
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const v = reply.getHeader(name);
      if (v !== undefined) headers[name] = String(v);
    }
    await c.store(claim, status, { body: payload ?? null, headers }, req.log);
  } else {
    // A stream or buffer can't be replayed; better to run again than to answer wrongly.
    req.log.warn({ key: claim.key }, 'response cannot be stored for replay; idempotency key released');
    await c.release(claim, req.log);
  }
  return payload;
}

// Safety net: a response that never went through onSend must not leave its key blocked.
async function onResponse(c: IdempotencyClaims, req: FastifyRequest) {
  const claim = c.claims.get(req);
  if (claim && !claim.settled) await c.release(claim, req.log);
}

/** Documents the header in the OpenAPI doc. A fresh schema object, so schemas shared between routes are left alone. */
function documentHeader(route: RouteOptions) {
  const schema = route.schema ?? {};
  const headers = schema.headers as { type?: string; properties?: Record<string, unknown> } | undefined;
  if (headers === undefined) {
    route.schema = { ...schema, headers: { type: 'object', properties: { [HEADER]: HeaderSchema } } };
  } else if (headers.properties && !(HEADER in headers.properties)) {
    route.schema = { ...schema, headers: { ...headers, properties: { ...headers.properties, [HEADER]: HeaderSchema } } };
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const c = new IdempotencyClaims(app.db, config.idempotencyTtlHours * 3_600_000);
    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (!methods.includes('POST')) return;
      route.preValidation = appendHook(route.preValidation, async (req: FastifyRequest) => preValidation(c, req));
      route.preHandler = appendHook(route.preHandler, async (req: FastifyRequest, reply: FastifyReply) => preHandler(c, req, reply));
      route.onSend = appendHook(route.onSend, async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => onSend(c, req, reply, payload));
      route.onResponse = appendHook(route.onResponse, async (req: FastifyRequest) => onResponse(c, req));
      documentHeader(route);
    });

    const sweeper = setInterval(() => c.sweep(app.log), SWEEP_MS).unref();
    app.addHook('onClose', async () => {
      clearInterval(sweeper);
      c.stopRenewing();
    });
  },
  { name: 'idempotency', dependencies: ['db'] },
);
