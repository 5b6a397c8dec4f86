// finetune jobs submit|follow|list|show|cancel|pause|resume|metrics
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CreateJobInput, Job, JobStatus } from '../../client/index.ts';
import { collect, int, str, type Command, type Ctx } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { evaluationReport, fixed, jobSummary, jobsTable, table } from '../format.ts';
import { Progress } from '../progress.ts';

const FINISHED = new Set<JobStatus>(['succeeded', 'failed', 'cancelled']);
// Checked against the schema's statuses both ways: a status added there fails the typecheck here.
const STATUS_SET = { queued: 1, running: 1, paused: 1, succeeded: 1, failed: 1, cancelled: 1 } satisfies Record<JobStatus, 1>;
const JOB_STATUSES = Object.keys(STATUS_SET) as JobStatus[];

/** The exit status a finished job maps to. */
export function outcomeExit(status: JobStatus): number {
  return status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.jobCancelled : status === 'failed' ? EXIT.jobFailed : EXIT.ok;
}

export async function readSpec<T = CreateJobInput>(file: string): Promise<T> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read ${file}: ${err.code ?? err.message}`);
  });
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Follows a job through its SSE event stream until it finishes, with progress on stderr;
 * then prints the job (and its evaluation) and returns the exit status of its outcome.
 */
export async function follow(ctx: Ctx, job: Job): Promise<number> {
  const progress = ctx.quiet ? undefined : new Progress(ctx.stderr, { tty: Boolean(ctx.stderr.isTTY) });
  const abort = new AbortController();
  // Ctrl-C stops following, not the job.
  const detach = () => abort.abort(new Error('detached'));
  process.once('SIGINT', detach);
  progress?.start(job);
  let done: Job;
  try {
    done = await ctx.client.jobs.wait(job.id, { signal: abort.signal, onEvent: (e) => progress?.onEvent(e) });
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    progress?.stop();
    ctx.stderr.write(`Stopped following; the job goes on. Follow it again with: finetune jobs follow ${job.id}\n`);
    return EXIT.detached;
  } finally {
    process.removeListener('SIGINT', detach);
    progress?.stop();
  }
  ctx.print(done, () => outcomeText(done));
  return FINISHED.has(done.status) ? outcomeExit(done.status) : EXIT.ok;
}

function outcomeText(j: Job): string {
  const head = j.status === 'succeeded'
    ? `Job ${j.id} succeeded${j.outputModelId ? `; output model ${j.outputModelId}` : ''}.`
    : j.status === 'failed'
      ? `Job ${j.id} failed: ${j.error ? `${j.error.code}: ${j.error.message}` : 'no reason recorded'}`
      : `Job ${j.id} ${j.status}.`;
  return j.evaluation ? `${head}\n\n${evaluationReport(j.evaluation)}` : head;
}

const idCommand = (summary: string, call: (ctx: Ctx, id: string) => Promise<Job>): Command => ({
  usage: '<id>',
  summary,
  args: [1, 1],
  async run(ctx, _v, [id]) {
    const j = await call(ctx, id);
    ctx.print(j, () => `Job ${j.id}: ${j.status}${j.cancelRequestedAt && j.status === 'running' ? ' (cancel requested; it stops at its next batch)' : ''}`);
    return EXIT.ok;
  },
});

export const jobCommands: Record<string, Command> = {
  submit: {
    usage: '<spec.json | -> [--auto] [--follow] [--idempotency-key <key>]',
    summary: 'Submit a job from a JSON spec (POST /v1/jobs body); --follow shows live progress and ends with the evaluation',
    help: 'Exit status with --follow: 0 succeeded, 1 failed, 4 cancelled (2 usage, 3 API error).\n--auto: strategy "auto", the advisor picks the cut, freeze, learning rate and epochs (docs/advice.md).',
    options: { follow: { type: 'boolean', short: 'f' }, auto: { type: 'boolean' }, 'idempotency-key': { type: 'string' } },
    args: [1, 1],
    async run(ctx, v, [file]) {
      const spec = { ...(await readSpec(file)), ...(v.auto ? { strategy: 'auto' as const } : {}) };
      // A key of our own makes the client's retries on a dropped connection safe: no second job.
      const job = await ctx.client.jobs.create(spec, { idempotencyKey: str(v, 'idempotency-key') ?? randomUUID() });
      if (v.follow) return follow(ctx, job);
      ctx.print(job, () => `Submitted job ${job.id} (${job.status}). Follow it with: finetune jobs follow ${job.id}`);
      return EXIT.ok;
    },
  },
  follow: {
    usage: '<id>',
    summary: 'Follow a job live until it finishes; exit status as for submit --follow',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      return follow(ctx, await ctx.client.jobs.get(id));
    },
  },
  list: {
    usage: `[--status ${JOB_STATUSES.join('|')}] [--limit N] [--all]`,
    summary: 'List jobs, newest first',
    options: { status: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
    args: [0, 0],
    async run(ctx, v) {
      const status = str(v, 'status');
      if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status is one of ${JOB_STATUSES.join(', ')}`);
      const q = { status: status as JobStatus | undefined };
      const rows = v.all ? await collect(ctx.client.jobs.all(q)) : (await ctx.client.jobs.list({ ...q, limit: int(v, 'limit', 1) })).data;
      ctx.print(rows, () => jobsTable(rows));
      return EXIT.ok;
    },
  },
  show: {
    usage: '<id>',
    summary: 'Show a job: status, progress, latest metrics, error, evaluation',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const j = await ctx.client.jobs.get(id);
      ctx.print(j, () => jobSummary(j));
      return EXIT.ok;
    },
  },
  metrics: {
    usage: '<id>',
    summary: 'Per-epoch metrics',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const m = await ctx.client.jobs.metrics(id);
      ctx.print(m, () => table(['epoch', 'loss', 'acc', 'val_loss', 'val_acc', 'seconds', 'ex/s'],
        m.data.map((e) => [e.epoch, fixed(e.loss), fixed(e.accuracy), fixed(e.valLoss), fixed(e.valAccuracy), (e.durationMs / 1000).toFixed(1), Math.round(e.examplesPerSec)])));
      return EXIT.ok;
    },
  },
  cancel: idCommand('Cancel a job (a running one stops at its next batch)', (ctx, id) => ctx.client.jobs.cancel(id)),
  pause: idCommand('Pause a job (a running one checkpoints at its next batch)', (ctx, id) => ctx.client.jobs.pause(id)),
  resume: idCommand('Resume a paused job from its checkpoint', (ctx, id) => ctx.client.jobs.resume(id)),
};
