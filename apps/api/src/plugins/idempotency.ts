// Idempotency-Key on every POST, as Stripe does it: a retried request gets the
// first response back from Postgres (Idempotent-Replayed: true) instead of a
// second job, dataset or model. Keys live for IDEMPOTENCY_TTL_HOURS.
import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../../../shared/config.ts';
import { BadRequestError, ConflictError, UnprocessableError } from '../../../shared/errors.ts';

const HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;
/** An in_flight row is a lease: renewed while its request runs, taken over once it lapses (the process died). */
const LEASE_MS = 60_000;
const RENEW_MS = LEASE_MS / 3;
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

/** What `response` holds: the body exactly as first sent, and the headers to replay. */
interface StoredResponse {
  body: string | null;
  headers: Record<string, string>;
}

interface Claim {
  scope: string;
  key: string;
  createdAt: Date;
  /** Doubles as the fencing token: our writes only match while the lease is still ours. */
  leaseUntil: Date;
  timer?: NodeJS.Timeout;
  renewing?: Promise<unknown>;
  settled: boolean;
}

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

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const db = app.db;
    const ttlMs = config.idempotencyTtlHours * 3_600_000;
    // Per request: the hash (from preValidation) and, once claimed, the lease.
    const hashes = new WeakMap<FastifyRequest, string>();
    const claims = new WeakMap<FastifyRequest, Claim>();
    const live = new Set<Claim>();

    const owned = (c: Claim) => ({ scope: c.scope, key: c.key, state: 'in_flight', expiresAt: c.leaseUntil });

    function renew(c: Claim, log: FastifyRequest['log']) {
      if (c.settled || c.renewing) return;
      const next = new Date(Date.now() + LEASE_MS);
      c.renewing = db.idempotencyKey
        .updateMany({ where: owned(c), data: { expiresAt: next } })
        .then(({ count }) => {
          if (count) c.leaseUntil = next;
          else log.warn({ key: c.key }, 'idempotency key lease lost');
        })
        .catch((err) => log.warn({ err }, 'idempotency key lease renewal failed'))
        .finally(() => (c.renewing = undefined));
    }

    /** Stops renewing; resolves once no renewal can move the fencing token under us. */
    async function settle(c: Claim): Promise<boolean> {
      if (c.settled) return false;
      c.settled = true;
      clearInterval(c.timer);
      live.delete(c);
      await c.renewing;
      return true;
    }

    async function release(c: Claim, log: FastifyRequest['log']) {
      if (!(await settle(c))) return;
      await db.idempotencyKey.deleteMany({ where: owned(c) }).catch((err) => log.error({ err, key: c.key }, 'could not release idempotency key'));
    }

    async function store(c: Claim, statusCode: number, response: StoredResponse, log: FastifyRequest['log']) {
      if (!(await settle(c))) return;
      try {
        const expiresAt = new Date(c.createdAt.getTime() + ttlMs);
        const { count } = await db.idempotencyKey.updateMany({ where: owned(c), data: { state: 'done', statusCode, response: response as never, expiresAt } });
        if (!count) log.warn({ key: c.key }, 'idempotency key was taken over before its response was stored');
      } catch (err) {
        // The side effect happened, so answer anyway; freeing the key beats blocking it until the lease lapses.
        log.error({ err, key: c.key }, 'could not store idempotent response');
        await db.idempotencyKey.deleteMany({ where: owned(c) }).catch(() => undefined);
      }
    }

    async function preValidation(req: FastifyRequest) {
      if (req.method !== 'POST') return;
      const key = req.headers[HEADER];
      if (key === undefined) return;
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new BadRequestError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
      }
      // Hashed before validation fills in defaults: the key stands for what the client sent.
      hashes.set(req, requestHash(req.method, req.url, req.body));
    }

    async function preHandler(req: FastifyRequest, reply: FastifyReply) {
      const hash = hashes.get(req);
      if (hash === undefined) return;
      const scope = idempotencyScope(req);
      const key = req.headers[HEADER] as string;
      // A few rounds: each conflict either decides the answer or clears an expired row and retries.
      for (let attempt = 0; attempt < 3; attempt++) {
        const now = Date.now();
        const claim: Claim = { scope, key, createdAt: new Date(now), leaseUntil: new Date(now + LEASE_MS), settled: false };
        const { count } = await db.idempotencyKey.createMany({
          data: [{ scope, key, requestHash: hash, state: 'in_flight', createdAt: claim.createdAt, expiresAt: claim.leaseUntil }],
          skipDuplicates: true, // ON CONFLICT DO NOTHING: the primary key decides who owns the key
        });
        if (count === 1) {
          claim.timer = setInterval(() => renew(claim, req.log), RENEW_MS).unref();
          live.add(claim);
          claims.set(req, claim);
          return;
        }
        const row = await db.idempotencyKey.findUnique({ where: { scope_key: { scope, key } } });
        if (!row) continue; // freed in between
        if (row.expiresAt.getTime() <= now) {
          // Expired, or an in_flight lease nobody renewed (its process died): reusable.
          await db.idempotencyKey.deleteMany({ where: { scope, key, state: row.state, expiresAt: row.expiresAt } });
          continue;
        }
        if (row.requestHash !== hash) {
          throw new UnprocessableError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request (another endpoint or body)');
        }
        if (row.state !== 'done') break;
        const stored = row.response as unknown as StoredResponse;
        reply.code(row.statusCode ?? 200).headers(stored.headers ?? {}).header('idempotent-replayed', 'true');
        return reply.send(stored.body ?? undefined);
      }
      throw new ConflictError('idempotency_key_in_flight', 'A request with this Idempotency-Key is still in progress; retry later');
    }

    async function onSend(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
      const claim = claims.get(req);
      if (!claim || claim.settled) return payload;
      const status = reply.statusCode;
      if (!storable(status)) {
        await release(claim, req.log);
      } else if (payload == null || typeof payload === 'string') {
        const headers: Record<string, string> = {};
        for (const name of REPLAYED_HEADERS) {
          const v = reply.getHeader(name);
          if (v !== undefined) headers[name] = String(v);
        }
        await store(claim, status, { body: payload ?? null, headers }, req.log);
      } else {
        // A stream or buffer can't be replayed; better to run again than to answer wrongly.
        req.log.warn({ key: claim.key }, 'response cannot be stored for replay; idempotency key released');
        await release(claim, req.log);
      }
      return payload;
    }

    // Safety net: a response that never went through onSend must not leave its key blocked.
    async function onResponse(req: FastifyRequest) {
      const claim = claims.get(req);
      if (claim && !claim.settled) await release(claim, req.log);
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (!methods.includes('POST')) return;
      route.preValidation = appendHook(route.preValidation, preValidation as never);
      route.preHandler = appendHook(route.preHandler, preHandler as never);
      route.onSend = appendHook(route.onSend, onSend as never);
      route.onResponse = appendHook(route.onResponse, onResponse as never);
      // Documents the header in the OpenAPI doc. A fresh schema object, so schemas shared between routes are left alone.
      const schema = route.schema ?? {};
      const headers = schema.headers as { type?: string; properties?: Record<string, unknown> } | undefined;
      if (headers === undefined) {
        route.schema = { ...schema, headers: { type: 'object', properties: { [HEADER]: HeaderSchema } } };
      } else if (headers.properties && !(HEADER in headers.properties)) {
        route.schema = { ...schema, headers: { ...headers, properties: { ...headers.properties, [HEADER]: HeaderSchema } } };
      }
    });

    const sweep = () =>
      db.idempotencyKey
        .deleteMany({ where: { expiresAt: { lt: new Date() } } })
        .then(({ count }) => count && app.log.debug({ count }, 'expired idempotency keys deleted'))
        .catch((err) => app.log.warn({ err }, 'idempotency key sweep failed'));
    const sweeper = setInterval(sweep, SWEEP_MS).unref();
    app.addHook('onClose', async () => {
      clearInterval(sweeper);
      for (const c of live) clearInterval(c.timer);
    });
  },
  { name: 'idempotency', dependencies: ['db'] },
);
