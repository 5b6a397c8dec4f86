// The state behind the idempotency plugin: each request's hash and lease, and the
// operations on a claimed key's row (renew, settle, release, store, sweep).
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Db } from '../../../shared/db/prisma.ts';

/** An in_flight row is a lease: renewed while its request runs, taken over once it lapses (the process died). */
export const LEASE_MS = 60_000;
const RENEW_MS = LEASE_MS / 3;

/**
 * What `response` holds: the body exactly as first sent, and the headers to replay.
 * A type, not an interface: it then fits Prisma's JSON types as it is.
 */
export type StoredResponse = {
  body: string | null;
  headers: Record<string, string>;
};

export interface Claim {
  scope: string;
  key: string;
  createdAt: Date;
  /** Doubles as the fencing token: our writes only match while the lease is still ours. */
  leaseUntil: Date;
  timer?: NodeJS.Timeout;
  renewing?: Promise<unknown>;
  settled: boolean;
}

const owned = (c: Claim) => ({ scope: c.scope, key: c.key, state: 'in_flight', expiresAt: c.leaseUntil });

export class IdempotencyClaims {
  // Per request: the hash (from preValidation) and, once claimed, the lease.
  readonly hashes = new WeakMap<FastifyRequest, string>();
  readonly claims = new WeakMap<FastifyRequest, Claim>();
  private readonly live = new Set<Claim>();

  constructor(
    readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  /** The request won the key: keep its lease renewed until it settles. */
  hold(req: FastifyRequest, claim: Claim): void {
    claim.timer = setInterval(() => this.renew(claim, req.log), RENEW_MS).unref();
    this.live.add(claim);
    this.claims.set(req, claim);
  }

  renew(c: Claim, log: FastifyBaseLogger): void {
    if (c.settled || c.renewing) return;
    const next = new Date(Date.now() + LEASE_MS);
    c.renewing = this.db.idempotencyKey
      .updateMany({ where: owned(c), data: { expiresAt: next } })
      .then(({ count }) => {
        if (count) c.leaseUntil = next;
        else log.warn({ key: c.key }, 'idempotency key lease lost');
      })
      .catch((err) => log.warn({ err }, 'idempotency key lease renewal failed'))
      .finally(() => (c.renewing = undefined));
  }

  /** Stops renewing; resolves once no renewal can move the fencing token under us. */
  async settle(c: Claim): Promise<boolean> {
    if (c.settled) return false;
    c.settled = true;
    clearInterval(c.timer);
    this.live.delete(c);
    await c.renewing;
    return true;
  }

  async release(c: Claim, log: FastifyBaseLogger): Promise<void> {
    if (!(await this.settle(c))) return;
    await this.db.idempotencyKey.deleteMany({ where: owned(c) }).catch((err) => log.error({ err, key: c.key }, 'could not release idempotency key'));
  }

  async store(c: Claim, statusCode: number, response: StoredResponse, log: FastifyBaseLogger): Promise<void> {
    if (!(await this.settle(c))) return;
    try {
      const expiresAt = new Date(c.createdAt.getTime() + this.ttlMs);
      const { count } = await this.db.idempotencyKey.updateMany({ where: owned(c), data: { state: 'done', statusCode, response, expiresAt } });
      if (!count) log.warn({ key: c.key }, 'idempotency key was taken over before its response was stored');
    } catch (err) {
      // The side effect happened, so answer anyway; freeing the key beats blocking it until the lease lapses.
      log.error({ err, key: c.key }, 'could not store idempotent response');
      await this.db.idempotencyKey.deleteMany({ where: owned(c) }).catch(() => undefined);
    }
  }

  sweep(log: FastifyBaseLogger): Promise<unknown> {
    return this.db.idempotencyKey
      .deleteMany({ where: { expiresAt: { lt: new Date() } } })
      .then(({ count }) => count && log.debug({ count }, 'expired idempotency keys deleted'))
      .catch((err) => log.warn({ err }, 'idempotency key sweep failed'));
  }

  /** Stops every lease renewal timer (on close). */
  stopRenewing(): void {
    for (const c of this.live) clearInterval(c.timer);
  }
}
