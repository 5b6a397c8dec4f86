// finetune sweeps create|show|follow|cancel|list: hyperparameter sweeps (docs/sweeps.md).
import { randomUUID } from 'node:crypto';
import type { CreateSweepInput, Sweep } from '../../client/index.ts';
import { str, type Command, type Ctx } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { fixed, table } from '../format.ts';
import { readSpec } from './jobs.ts';

const params = (p: Record<string, unknown>) => Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');

/** One line of where the sweep stands. */
function summary(s: Sweep): string {
  const t = s.trials;
  const best = s.bestTrial ?? s.leaderboard.find((x) => x.objective !== null);
  return `sweep ${s.id}: ${s.status}; trials ${t.succeeded} succeeded, ${t.running} running, ${t.queued} queued, ${t.pending} pending, ${t.failed} failed, ${t.cancelled} cancelled, ` +
    `${t.stoppedEarly} stopped early; feature passes ${s.featurePasses.computed} computed, ${s.featurePasses.reused} reused` +
    (best ? `; best ${s.objective.metric} ${fixed(best.objective)} (trial ${best.index})` : '') +
    (s.error ? `; ${s.error.code}: ${s.error.message}` : '');
}

function report(s: Sweep): string {
  const rows = s.leaderboard.map((t) => [
    t.index, t.status + (t.stoppedEarly ? ` (stopped at ${t.prunedAtEpoch})` : ''), fixed(t.objective), t.epochsRun, t.compute?.exampleLayers ?? '-', t.features ?? '-', params(t.params), t.jobId ?? '-',
  ]);
  return [
    summary(s),
    s.outputModelId ? `output model: ${s.outputModelId}` : '',
    '',
    table(['trial', 'status', s.objective.metric, 'epochs', 'compute', 'features', 'params', 'job'], rows),
  ].filter((l, i) => l !== '' || i === 2).join('\n');
}

const exitOf = (s: Sweep) => (s.status === 'failed' ? EXIT.jobFailed : s.status === 'cancelled' ? EXIT.jobCancelled : EXIT.ok);

/** Polls until the sweep ends, a line on stderr whenever it changed; then the leaderboard. */
async function follow(ctx: Ctx, id: string): Promise<number> {
  let last = '';
  const done = await ctx.client.sweeps.wait(id, {
    onUpdate: (s) => {
      const line = summary(s);
      if (line !== last && !ctx.quiet) ctx.stderr.write(`${line}\n`);
      last = line;
    },
  });
  ctx.print(done, () => report(done));
  return exitOf(done);
}

export const sweepCommands: Record<string, Command> = {
  create: {
    usage: '<sweep.json | -> [--follow] [--idempotency-key <key>]',
    summary: 'Start a sweep from a JSON body (POST /v1/sweeps: job, space, objective, maxTrials, parallelism, earlyStopping); --follow waits for its leaderboard',
    help: 'Exit status with --follow: 0 succeeded, 1 failed, 4 cancelled (2 usage, 3 API error).',
    options: { follow: { type: 'boolean', short: 'f' }, 'idempotency-key': { type: 'string' } },
    args: [1, 1],
    async run(ctx, v, [file]) {
      const body = await readSpec<CreateSweepInput>(file);
      const s = await ctx.client.sweeps.create(body, { idempotencyKey: str(v, 'idempotency-key') ?? randomUUID() });
      if (v.follow) return follow(ctx, s.id);
      ctx.print(s, () => `Started sweep ${s.id} (${s.maxTrials} trials). Follow it with: finetune sweeps follow ${s.id}`);
      return EXIT.ok;
    },
  },
  show: {
    usage: '<id>',
    summary: 'Show a sweep: its trials, leaderboard, feature passes and output model',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const s = await ctx.client.sweeps.get(id);
      ctx.print(s, () => report(s));
      return EXIT.ok;
    },
  },
  follow: {
    usage: '<id>',
    summary: 'Follow a sweep until it ends, then print its leaderboard',
    args: [1, 1],
    run: (ctx, _v, [id]) => follow(ctx, id),
  },
  cancel: {
    usage: '<id>',
    summary: 'Cancel a sweep: no more trials start, the live ones are cancelled',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const s = await ctx.client.sweeps.cancel(id, { idempotencyKey: randomUUID() });
      ctx.print(s, () => summary(s));
      return EXIT.ok;
    },
  },
  list: {
    usage: '',
    summary: 'List sweeps, newest first',
    args: [0, 0],
    async run(ctx) {
      const page = await ctx.client.sweeps.list();
      ctx.print(page, () => table(['id', 'status', 'trials', 'best', 'created'], page.data.map((s) => [s.id, s.status, s.maxTrials, fixed(s.bestTrial?.objective), s.createdAt])));
      return EXIT.ok;
    },
  },
};
