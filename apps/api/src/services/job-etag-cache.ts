// Each instance's jobs' ETags (issue 19), so that a poller whose If-None-Match
// still matches gets its 304 without a Postgres read. Kept right by Postgres
// itself: triggers on every table the ETag hashes send the job's id on
// "job_changed" at commit (migration 20261203100000), and plugins/job-changes.ts
// LISTENs and calls changed(). The bound on a stale 304 is therefore the
// notification's delay after the commit (milliseconds), like a read replica's
// lag; if notifications stop arriving without the connection reporting it, an
// entry still expires ttlMs after the read that filled it started.
//
// - Used only while the listener is connected (online()); cleared when it goes
//   down and again when it is back, since notifications in between are lost.
// - A read fills only if no notification for its job (nor a clear) came after
//   the read started: per-job sequence numbers, checked at fill time.
// - Keyed by job id, holding the tenant: another tenant's request never matches.
// - An entry filled by a full read also keeps the response body as serialized then,
//   so a plain GET of an unchanged job is answered from memory too, under the same
//   bound; bodies are bounded in bytes (the oldest entries go first).

interface Entry {
  tenantId: string;
  version: string;
  /** When the read that filled it started (ms). */
  at: number;
  /** The 200's body (serialized JSON) for this version, if a full read filled it. */
  body?: string;
}

/** What a read must show at fill time (see begin()). */
export interface FillTicket {
  epoch: number;
  seq: number;
  at: number;
}

export class JobEtagCache {
  readonly #entries = new Map<string, Entry>();
  /** Per job: the epoch's notification count for it when last notified (pruned with the entries). */
  readonly #notified = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Raised by every clear: reads started before it do not fill. */
  #epoch = 0;
  #seq = 0;
  #online = false;
  /** Characters of the bodies kept (about bytes: a job's JSON is mostly ASCII). */
  #bodyChars = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly maxBodyChars = 32 * 1024 * 1024,
  ) {}

  get enabled() {
    return this.ttlMs > 0 && this.#online;
  }

  /** The listener is connected and LISTENing (true) or not (false): either way, start over. */
  setOnline(online: boolean): void {
    this.#online = online;
    this.clear();
  }

  /** Reads answered from memory (finetune_job_cache_hits_total): a version, or a body with its version. */
  readonly hits = { version: 0, body: 0 };

  /** The version this instance last read for the tenant's job, if it is still good. */
  lookup(tenantId: string, jobId: string): string | undefined {
    const version = this.#live(tenantId, jobId)?.version;
    if (version !== undefined) this.hits.version++;
    return version;
  }

  /** The version and the body served with it, if this instance has both and they are still good. */
  lookupBody(tenantId: string, jobId: string): { version: string; body: string } | undefined {
    const e = this.#live(tenantId, jobId);
    if (e?.body === undefined) return undefined;
    this.hits.body++;
    return { version: e.version, body: e.body };
  }

  #live(tenantId: string, jobId: string): Entry | undefined {
    if (!this.enabled) return undefined;
    const e = this.#entries.get(jobId);
    if (!e || e.tenantId !== tenantId) return undefined;
    if (Date.now() - e.at >= this.ttlMs) {
      this.#delete(jobId);
      return undefined;
    }
    return e;
  }

  /** Taken before a read; fill() with it once the read is back. */
  begin(): FillTicket | undefined {
    return this.enabled ? { epoch: this.#epoch, seq: this.#seq, at: Date.now() } : undefined;
  }

  fill(ticket: FillTicket | undefined, tenantId: string, jobId: string, version: string, body?: string): void {
    if (!ticket || !this.enabled || ticket.epoch !== this.#epoch) return;
    // A notification for this job after the read began: the version read may be the old one.
    if ((this.#notified.get(jobId) ?? -1) > ticket.seq) return;
    const old = this.#entries.get(jobId);
    // A version-only read keeps the body an earlier full read of the same version left.
    const kept = body ?? (old?.version === version && old.tenantId === tenantId ? old.body : undefined);
    this.#delete(jobId);
    // One body may take at most 1% of the budget; a larger one is not kept (the version is).
    const fits = kept !== undefined && kept.length <= this.maxBodyChars / 100;
    this.#set(jobId, { tenantId, version, at: ticket.at, body: fits ? kept : undefined });
  }

  /** The job may have changed (a notification, or a write through this instance). */
  changed(jobId: string): void {
    if (jobId === '*') return this.clear();
    this.#seq++;
    this.#delete(jobId);
    this.#notified.set(jobId, this.#seq);
    if (this.#notified.size > this.maxEntries) this.#pruneNotified();
    this.#wake(jobId);
  }

  /** Forget everything; reads in flight do not fill. */
  clear(): void {
    this.#epoch++;
    this.#entries.clear();
    this.#bodyChars = 0;
    this.#notified.clear();
    for (const id of [...this.#waiters.keys()]) this.#wake(id);
  }

  /**
   * Resolves when the job may have changed (a notification for it, or a clear), or after ms.
   * With the listener down it only waits: the caller reads again either way.
   */
  waitForChange(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiters.get(jobId) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (!set.size && this.#waiters.get(jobId) === set) this.#waiters.delete(jobId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
      this.#waiters.set(jobId, set);
    });
  }

  get size() {
    return this.#entries.size;
  }

  #wake(jobId: string) {
    const set = this.#waiters.get(jobId);
    if (set) for (const w of [...set]) w();
  }

  /** Oldest first (a Map iterates in insertion order): a tenth of the entries when full, and until the bodies fit. */
  #set(jobId: string, e: Entry) {
    let n = this.#entries.size >= this.maxEntries ? Math.max(1, Math.floor(this.maxEntries / 10)) : 0;
    const chars = e.body?.length ?? 0;
    for (const id of this.#entries.keys()) {
      if (n <= 0 && this.#bodyChars + chars <= this.maxBodyChars) break;
      this.#delete(id);
      n--;
    }
    this.#entries.set(jobId, e);
    this.#bodyChars += chars;
  }

  #delete(jobId: string) {
    const e = this.#entries.get(jobId);
    if (!e) return;
    this.#bodyChars -= e.body?.length ?? 0;
    this.#entries.delete(jobId);
  }

  /**
   * Sequence marks only matter to reads in flight; dropping them starts a new epoch
   * (so those reads do not fill), rather than risking a fill the mark would have stopped.
   */
  #pruneNotified() {
    this.#epoch++;
    this.#notified.clear();
  }
}
