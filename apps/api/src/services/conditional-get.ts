// Conditional and long-polled reads (issue 19). The ETag is the resource's
// version, which its reader guarantees changes whenever the response would (for
// a job: a hash, computed by Postgres, of every column the response is made
// from). A poller that sends it back in If-None-Match gets an empty 304 after
// reading only the version; with `waitForChangeMs` the answer waits
// (woken by the resource's change notice where it has one, and re-reading the
// version every EVENTS_POLL_MS in any case) until it changes or the time is up.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const etagOf = (version: string) => `"${version}"`;

/** If-None-Match names this ETag (or `*`); weak comparison, as RFC 9110 asks for GET. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

export interface ConditionalOptions {
  /** How long to wait for a change at most (already within its bound); 0 answers at once. */
  waitMs: number;
  pollMs: number;
}

export interface VersionedReads {
  /** The resource's version alone (cheap). */
  version(): Promise<string>;
  /** The resource and its version, read together: as a value to serialize, or as JSON already serialized by the route's schema. */
  read(): Promise<{ version: string; value: unknown } | { version: string; json: string }>;
  /** Resolves when the resource may have changed, or after ms at most (without it: just the wait). */
  waitForChange?(ms: number): Promise<void>;
}

/** Sends the resource as JSON with its ETag, or 304 if the caller has it (after waiting for a change, if asked). */
export async function sendConditional(req: FastifyRequest, reply: FastifyReply, reads: VersionedReads, opts: ConditionalOptions) {
  const ifNoneMatch = req.headers['if-none-match'];
  const deadline = Date.now() + opts.waitMs;
  // no-cache: caches may keep it, but must ask (with this ETag) before reusing it.
  reply.header('cache-control', 'private, no-cache');
  while (ifNoneMatch) {
    const etag = etagOf(await reads.version());
    if (!matchesEtag(ifNoneMatch, etag)) break;
    const left = deadline - Date.now();
    if (left <= 0 || req.socket.destroyed) return reply.code(304).header('etag', etag).send();
    const wait = Math.min(opts.pollMs, left);
    await (reads.waitForChange ? reads.waitForChange(wait) : new Promise((r) => setTimeout(r, wait)));
  }
  const got = await reads.read();
  reply.header('etag', etagOf(got.version));
  // A string with a JSON content type is sent as it is (Fastify serializes only other payloads).
  return 'json' in got ? reply.type('application/json; charset=utf-8').send(got.json) : reply.send(got.value);
}
