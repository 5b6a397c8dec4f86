// API keys looked up in Postgres at most once per key per AUTH_CACHE_MS (≤ 1 s)
// on each instance, instead of on every request. Revocation bound: an entry is
// kept for AUTH_CACHE_MS from the moment its lookup *started*, so a key revoked
// at time R is refused everywhere by R + AUTH_CACHE_MS even if no message
// arrives; the revoking instance drops it at once, and others hear of it over
// Redis pub/sub (see plugins/auth.ts) within milliseconds when Redis is up.

export interface KeyEntry {
  keyId: string;
  tenantId: string;
  /** ms since epoch, or null: when lastUsedAt was last written. */
  lastUsedAt: number | null;
}

interface Cached extends KeyEntry {
  fetchedAt: number;
}

/** Past this many keys the cache starts over (a bound on memory, not an eviction policy). */
const MAX_ENTRIES = 50_000;

export class KeyCache {
  readonly #entries = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<KeyEntry | null>>();
  /** Raised by every drop: a lookup that started before one does not fill the cache. */
  #generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly lookup: (hash: string) => Promise<KeyEntry | null>,
  ) {}

  /** The valid (unrevoked) key with this hash, or null. Concurrent misses share one lookup. */
  async get(hash: string): Promise<KeyEntry | null> {
    const now = Date.now();
    const hit = this.#entries.get(hash);
    if (hit && now - hit.fetchedAt < this.ttlMs) return hit;
    if (hit) this.#entries.delete(hash);
    const pending = this.#inFlight.get(hash);
    if (pending) return pending;
    const generation = this.#generation;
    const p = this.lookup(hash).then((found) => {
      if (found && this.ttlMs > 0 && generation === this.#generation) {
        if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
        this.#entries.set(hash, { ...found, fetchedAt: now });
      }
      return found;
    }).finally(() => this.#inFlight.delete(hash));
    this.#inFlight.set(hash, p);
    return p;
  }

  /** Forget one key (revoked here or on another instance). */
  drop(hash: string): void {
    this.#generation++;
    this.#entries.delete(hash);
    this.#inFlight.delete(hash);
  }

  /** Forget everything (the revocation channel was lost for a while). */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#inFlight.clear();
  }
}
