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

/** What one poll of a stream did: end it, poll again at once (more is waiting), or wait EVENTS_POLL_MS. */
type Step = 'end' | 'again' | 'wait';

/**
 * Takes the response over as an event stream and polls `step` until it ends the stream or the
 * client goes away, with keep-alives while nothing is written; a failure is sent as an `error` event.
 */
async function pollStream(req: FastifyRequest, reply: FastifyReply, pollMs: number, reconnect: string, step: (send: (chunk: string) => void) => Promise<Step>): Promise<void> {
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
  let lastWrite = Date.now();
  const send = (chunk: string) => {
    res.write(chunk);
    lastWrite = Date.now();
  };
  try {
    while (open) {
      const next = await step(send);
      if (next === 'end') break;
      if (next === 'again') continue;
      if (Date.now() - lastWrite > KEEPALIVE_MS) send(': keep-alive\n\n');
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } catch (err) {
    req.log.error({ err }, 'event stream failed');
    if (open) res.write(`event: error\ndata: ${JSON.stringify({ code: 'internal_error', message: reconnect })}\n\n`);
  } finally {
    res.end();
  }
}

export async function streamEvents(req: FastifyRequest, reply: FastifyReply, source: EventSource, from: bigint, pollMs: number): Promise<void> {
  let cursor = from;
  return pollStream(req, reply, pollMs, 'The event stream failed; reconnect with Last-Event-ID', async (send) => {
    const events = await source.after(cursor, 200);
    for (const e of events) {
      send(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      cursor = BigInt(e.id);
    }
    if (events.length === 200) return 'again';
    // Finished and drained: say so, and close.
    const status = await source.status();
    if (status === null || TERMINAL_STATUSES.has(status)) {
      if ((await source.after(cursor, 1)).length > 0) return 'again';
      send(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
      return 'end';
    }
    return 'wait';
  });
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
  let last = '';
  return pollStream(req, reply, pollMs, 'The event stream failed; reconnect', async (send) => {
    const snap = await read();
    const data = JSON.stringify(snap.body);
    if (data !== last) {
      send(`event: ${event}\ndata: ${data}\n\n`);
      last = data;
    }
    if (!snap.done) return 'wait';
    send(`event: end\ndata: ${JSON.stringify({ status: snap.status })}\n\n`);
    return 'end';
  });
}
