// The client's `jobs`: submit, read, control, and follow a job through its
// event log, paged (JSON) or live (Server-Sent Events).
import { ApiError } from './errors.ts';
import { parseSse } from './sse.ts';
import { sleep, type CallOptions, type PostOptions, type Transport } from './transport.ts';
import type {
  CreateJobInput, Evaluation, Job, JobCheckpoints, JobEvent, JobEventPage, JobEventParams, JobListParams, JobMetrics, ModelFile,
  Page, WebhookDeliveries,
} from './types.ts';

export interface StreamOptions extends CallOptions {
  /** Start after this event id (the stream replays the log from its beginning otherwise). */
  after?: string;
  /**
   * Reconnections in a row (with Last-Event-ID) after the stream drops before its `end` event.
   * @defaultValue 5
   */
  maxReconnects?: number;
}

export interface WaitOptions extends StreamOptions {
  /** Sees every event of the log as it comes (from the start, or after `after`). */
  onEvent?: (event: JobEvent) => void;
}

/** What the stream's `end` event says: the job's status when the log closed. */
export interface StreamEnd {
  status: string | null;
}

const enc = encodeURIComponent;

export function jobsApi(t: Transport) {
  const path = (id: string, rest = '') => `/v1/jobs/${enc(id)}${rest}`;
  const jobs = {
    /** POST /v1/jobs: the job is queued (202). */
    create: (body: CreateJobInput, opts?: PostOptions) => t.json<Job>('POST', '/v1/jobs', { body, ...opts }),
    list: (q: JobListParams = {}, opts?: CallOptions) => t.json<Page<Job>>('GET', '/v1/jobs', { query: q, ...opts }),
    all: (q: Omit<JobListParams, 'after'> = {}, opts?: CallOptions) => t.all((p: JobListParams) => jobs.list(p, opts), q),
    get: (id: string, opts?: CallOptions) => t.json<Job>('GET', path(id), opts),
    cancel: (id: string, opts?: PostOptions) => t.json<Job>('POST', path(id, '/cancel'), opts),
    pause: (id: string, opts?: PostOptions) => t.json<Job>('POST', path(id, '/pause'), opts),
    resume: (id: string, opts?: PostOptions) => t.json<Job>('POST', path(id, '/resume'), opts),
    metrics: (id: string, opts?: CallOptions) => t.json<JobMetrics>('GET', path(id, '/metrics'), opts),
    checkpoints: (id: string, opts?: CallOptions) => t.json<JobCheckpoints>('GET', path(id, '/checkpoints'), opts),
    /** One file of the checkpoint written after `epoch`, as bytes. */
    checkpointFile: (id: string, epoch: number, file: ModelFile, opts?: CallOptions) => t.bytes(path(id, `/checkpoints/${epoch}/${file}`), opts),
    webhookDeliveries: (id: string, opts?: CallOptions) => t.json<WebhookDeliveries>('GET', path(id, '/webhook-deliveries'), opts),
    /** The evaluation of a finished job (null until it has one). */
    evaluation: async (id: string, opts?: CallOptions): Promise<Evaluation | null> => (await jobs.get(id, opts)).evaluation,
    /** One page of the event log, oldest first. */
    events: (id: string, q: JobEventParams = {}, opts?: CallOptions) => t.json<JobEventPage>('GET', path(id, '/events'), { query: q, ...opts }),
    /** The whole event log so far, page by page. */
    allEvents: (id: string, q: JobEventParams = {}, opts?: CallOptions) => t.all((p: JobEventParams) => jobs.events(id, p, opts), q),
    /** The event log live over SSE, from the start (or `after`); ends when the job has finished and every event is in. */
    stream: (id: string, opts: StreamOptions = {}) => stream(t, path(id, '/events'), opts),
    /** Follows the job's event stream to its end, then returns the job as it finished. */
    wait: async (id: string, opts: WaitOptions = {}): Promise<Job> => {
      for await (const e of jobs.stream(id, opts)) opts.onEvent?.(e);
      return jobs.get(id, opts);
    },
  };
  return jobs;
}

/** The SSE reader: reconnects with Last-Event-ID after a drop, at the server's `retry:` pace. */
async function* stream(t: Transport, url: string, opts: StreamOptions): AsyncGenerator<JobEvent, StreamEnd> {
  const cursor = { id: opts.after, retryMs: 1000 };
  const maxReconnects = opts.maxReconnects ?? 5;
  for (let failures = 0; ;) {
    let lost: ApiError;
    try {
      const res = await t.raw('GET', url, {
        signal: opts.signal,
        headers: { accept: 'text/event-stream', ...(cursor.id ? { 'last-event-id': cursor.id } : {}) },
      });
      if (!res.body) throw new ApiError(0, 'stream_failed', 'The event stream had no body');
      for await (const item of read(res.body, cursor)) {
        if ('end' in item) return item.end;
        failures = 0;
        yield item.event;
      }
      lost = new ApiError(0, 'stream_interrupted', 'The event stream closed before the job finished');
    } catch (err) {
      // 4xx (no such job, bad key) and aborts are final; a dropped connection is not.
      if (opts.signal?.aborted || (err instanceof ApiError && err.status >= 400 && err.status < 500)) throw err;
      lost = err instanceof ApiError ? err : new ApiError(0, 'stream_interrupted', (err as Error).message);
    }
    if (++failures > maxReconnects) throw lost;
    await sleep(cursor.retryMs, opts.signal);
  }
}

/** One connection's messages as events (moving the cursor), or the `end` that closes the log. */
async function* read(body: ReadableStream<Uint8Array>, cursor: { id?: string; retryMs: number }): AsyncGenerator<{ event: JobEvent } | { end: StreamEnd }> {
  for await (const msg of parseSse(body)) {
    if (msg.retry !== undefined) cursor.retryMs = msg.retry;
    if (msg.event === 'end') {
      yield { end: JSON.parse(msg.data) as StreamEnd };
      return;
    }
    if (msg.event === 'error') throw new ApiError(0, 'stream_failed', (JSON.parse(msg.data) as { message?: string }).message ?? 'The event stream failed');
    if (!msg.data) continue;
    const event = JSON.parse(msg.data) as JobEvent;
    cursor.id = event.id;
    yield { event };
  }
}
