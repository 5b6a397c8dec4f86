// Server-Sent Events for a job's event log. Any API instance can serve any
// job: it reads new events from Postgres (polling every EVENTS_POLL_MS), so
// nothing depends on which worker or instance wrote them. The stream ends
// with an `end` event once the job is finished and every event is sent.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TERMINAL_STATUSES } from '../../../shared/jobs/events.ts';
import type { JobEventView } from '../schemas/jobs.ts';

export interface EventSource {
  after(after: bigint, limit: number): Promise<JobEventView[]>;
  status(): Promise<string | null>;
}

const KEEPALIVE_MS = 15_000;

/** Takes the response over as an event stream; `open()` turns false when the client goes away. */
function openStream(req: FastifyRequest, reply: FastifyReply, pollMs: number) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(req.id),
  });
  let open = true;
  req.raw.on('close', () => {
    open = false;
  });
  res.write(`retry: ${Math.max(1000, pollMs * 2)}\n\n`);
  return { res, open: () => open };
}

export async function streamEvents(req: FastifyRequest, reply: FastifyReply, source: EventSource, from: bigint, pollMs: number): Promise<void> {
  const { res, open } = openStream(req, reply, pollMs);
  let cursor = from;
  let lastWrite = Date.now();
  try {
    while (open()) {
      const events = await source.after(cursor, 200);
      for (const e of events) {
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        cursor = BigInt(e.id);
        lastWrite = Date.now();
      }
      if (events.length === 200) continue;
      // Finished and drained: say so, and close.
      const status = await source.status();
      if (status === null || TERMINAL_STATUSES.has(status)) {
        const more = await source.after(cursor, 1);
        if (more.length === 0) {
          res.write(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
          break;
        }
        continue;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } catch (err) {
    req.log.error({ err }, 'event stream failed');
    if (open()) res.write(`event: error\ndata: ${JSON.stringify({ code: 'internal_error', message: 'The event stream failed; reconnect with Last-Event-ID' })}\n\n`);
  } finally {
    res.end();
  }
}

export interface Snapshot {
  /** What the event carries (the resource as GET shows it). */
  body: unknown;
  status: string;
  /** The resource will not change any more: the stream sends it and ends. */
  done: boolean;
}

/**
 * A resource that changes in place (a dataset being validated), as Server-Sent Events: one
 * `event` each time it reads differently (polling every EVENTS_POLL_MS), then `end` once done.
 */
export async function streamSnapshots(req: FastifyRequest, reply: FastifyReply, event: string, read: () => Promise<Snapshot>, pollMs: number): Promise<void> {
  const { res, open } = openStream(req, reply, pollMs);
  let last = '';
  let lastWrite = Date.now();
  try {
    while (open()) {
      const snap = await read();
      const data = JSON.stringify(snap.body);
      if (data !== last) {
        res.write(`event: ${event}\ndata: ${data}\n\n`);
        last = data;
        lastWrite = Date.now();
      }
      if (snap.done) {
        res.write(`event: end\ndata: ${JSON.stringify({ status: snap.status })}\n\n`);
        break;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } catch (err) {
    req.log.error({ err }, 'event stream failed');
    if (open()) res.write(`event: error\ndata: ${JSON.stringify({ code: 'internal_error', message: 'The event stream failed; reconnect' })}\n\n`);
  } finally {
    res.end();
  }
}
