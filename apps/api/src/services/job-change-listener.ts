// The LISTEN connection that keeps job-etag-cache.ts right (issue 19). A LISTEN
// that returns proves little: behind PgBouncer in transaction mode, before the
// notify migration, or on a half-open socket (OS keepalive: about 2 h) nothing
// would ever arrive, and the cache would serve stale 304s for JOB_ETAG_CACHE_MS.
// So the cache goes online only once a probe, `pg_notify('job_changed',
// 'probe:<nonce>')` sent through the pool the reads use, has come back on this
// connection; the probe is repeated every TTL/2, and one that does not come back
// turns the cache off (cleared) and reconnects. The triggers must exist too
// (checked in pg_trigger), else it stays off. Logs only changes of state.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { JobEtagCache } from './job-etag-cache.ts';

export const JOB_CHANGED_CHANNEL = 'job_changed';
/** The listener's application_name in pg_stat_activity. */
export const LISTENER_NAME = 'finetune-api job changes';
/** The trigger the notify migration creates on "Job"; its absence means nothing would notify. */
export const JOB_TRIGGER = 'Job_changed';
const PROBE = 'probe:';
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export interface ListenerOptions {
  listenUrl: string;
  /** Runs a statement through the pool the reads use (where a worker's writes would land too). */
  query: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>;
  /** How often the probe is repeated (the cache's TTL/2). */
  probeEveryMs: number;
  /** How long a probe may take to come back. */
  probeTimeoutMs: number;
  log: { warn: (o: object, m: string) => void; info: (o: object, m: string) => void };
}

export class JobChangeListener {
  #closed = false;
  #client: pg.Client | undefined;
  #delay = RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #probes = new Map<string, () => void>();
  #online = false;
  /** The last state logged ('online', 'lost', 'no-trigger', 'probe-missed'): only changes are logged. */
  #logged = '';

  constructor(
    private readonly cache: JobEtagCache,
    private readonly o: ListenerOptions,
  ) {}

  start(): void {
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#probeTimer);
    this.#setOnline(false);
    await this.#client?.end().catch(() => undefined);
  }

  #setOnline(online: boolean, why = '', err?: string) {
    if (online !== this.#online) {
      this.#online = online;
      this.cache.setOnline(online);
    }
    const state = online ? 'online' : why;
    if (this.#closed || state === this.#logged || !state) return;
    this.#logged = state;
    if (online) this.o.log.info({}, 'job change listener confirmed by a probe: the job ETag cache is on');
    else this.o.log.warn({ reason: state, err }, 'job change listener not working: the job ETag cache is off until a probe comes back');
  }

  /** Reconnects after a jittered, growing delay (many instances must not reconnect in step). */
  #retry() {
    clearTimeout(this.#probeTimer);
    if (this.#closed || this.#retryTimer) return;
    const wait = this.#delay / 2 + Math.random() * (this.#delay / 2);
    this.#delay = Math.min(this.#delay * 2, RETRY_MAX_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, wait);
  }

  async #connect() {
    const c = new pg.Client({ connectionString: this.o.listenUrl, keepAlive: true, application_name: LISTENER_NAME });
    this.#client = c;
    let failed = false;
    const lost = (err?: Error) => {
      if (failed) return;
      failed = true;
      this.#setOnline(false, 'lost', err?.message);
      if (this.#client === c) this.#client = undefined;
      c.end().catch(() => undefined);
      this.#retry();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (n) => {
      if (n.channel !== JOB_CHANGED_CHANNEL || !n.payload) return;
      if (n.payload.startsWith(PROBE)) this.#probes.get(n.payload.slice(PROBE.length))?.();
      else this.cache.changed(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${JOB_CHANGED_CHANNEL}`);
      if (this.#closed || failed) return void c.end().catch(() => undefined);
      this.#delay = RETRY_MIN_MS;
      await this.#probe(c, lost);
    } catch (err) {
      lost(err as Error);
    }
  }

  /** One probe round on connection c, then the next one in probeEveryMs. */
  async #probe(c: pg.Client, lost: (err?: Error) => void) {
    if (this.#closed || this.#client !== c) return;
    const next = () => {
      if (!this.#closed && this.#client === c) this.#probeTimer = setTimeout(() => void this.#probe(c, lost), this.o.probeEveryMs);
    };
    let seen = false;
    try {
      const { rows } = await this.o.query('SELECT 1 FROM pg_trigger WHERE tgname = $1 AND NOT tgisinternal', [JOB_TRIGGER]);
      if (!rows.length) {
        this.#setOnline(false, 'no-trigger', `trigger "${JOB_TRIGGER}" missing: is the migration applied?`);
        return next();
      }
      const nonce = randomUUID();
      const back = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.probeTimeoutMs);
        this.#probes.set(nonce, () => {
          seen = true;
          clearTimeout(timer);
          resolve();
        });
      });
      await this.o.query(`SELECT pg_notify('${JOB_CHANGED_CHANNEL}', $1)`, [PROBE + nonce]).catch((err: Error) => {
        this.#probes.delete(nonce);
        throw err;
      });
      await back;
      this.#probes.delete(nonce);
    } catch {
      // The pool could not send it: that says nothing of this connection; try again later.
      return next();
    }
    if (this.#client !== c) return;
    if (!seen) return lost(new Error(`probe not back within ${this.o.probeTimeoutMs} ms`));
    this.#setOnline(true);
    next();
  }
}
