// Conditional and long-polled reads (issue 19). The ETag is a hash of the very
// bytes a 200 would send, so it changes exactly when the response would: no
// column has to be trusted to move on every change. A poller that sends it back
// in If-None-Match gets an empty 304; with `waitForChangeMs` the answer waits
// (re-reading every EVENTS_POLL_MS) until the resource changes or the time is up.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

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

/** Sends `read()`'s value as JSON with its ETag, or 304 if the caller has it (after waiting for a change, if asked). */
export async function sendConditional(req: FastifyRequest, reply: FastifyReply, read: () => Promise<unknown>, opts: ConditionalOptions) {
  const ifNoneMatch = req.headers['if-none-match'];
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    const body = reply.serialize(await read()) as string;
    const etag = etagOf(body);
    // no-cache: caches may keep it, but must ask (with this ETag) before reusing it.
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (!matchesEtag(ifNoneMatch, etag)) return reply.type('application/json; charset=utf-8').send(body);
    const left = deadline - Date.now();
    if (left <= 0 || req.socket.destroyed) return reply.code(304).send();
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs, left)));
  }
}
