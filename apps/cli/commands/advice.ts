// finetune advice create|show: how much to fine-tune, measured by the service.
import { randomUUID } from 'node:crypto';
import type { Advice } from '../../client/types.ts';
import { int, required, str, type Command } from '../command.ts';
import { table } from '../format.ts';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function report(a: Advice): string {
  if (!a.advice) return `advice ${a.id}: ${a.status}${a.error ? ` (${a.error.code}: ${a.error.message})` : ''}`;
  const r = a.advice;
  return [
    `advice ${a.id}: ${a.status}; recommended ${r.recommended}`,
    ...r.reasons.map((x) => `  ${x}`),
    '',
    table(['cut', 'dims', 'LogME', 'probe', 'probe (half)'], r.cuts.map((c) => [c.layer, `${c.dims}→${c.measuredDims}`, c.logme.toFixed(3), pct(c.probeAccuracy), pct(c.probeAccuracyHalf)])),
    '',
    table(['option', 'expected val acc', 'compute', 'lr', 'base lr ×', 'epochs'], [...r.options].sort((x, y) => y.expectedValAccuracy - x.expectedValAccuracy).map((o) => [
      o.id === r.recommended ? `${o.id} *` : o.id, pct(o.expectedValAccuracy), o.compute, o.hyperparameters.learningRate, o.hyperparameters.baseLearningRateMultiplier ?? '-', o.hyperparameters.epochs,
    ])),
  ].join('\n');
}

export const adviceCommands: Record<string, Command> = {
  create: {
    usage: '--base <model id> --train <dataset id> [--validation <dataset id>] [--sample N] [--cuts N] [--epochs N] [--no-wait]',
    summary: 'Ask how to fine-tune a base on a dataset: transferability per cut layer, data, similarity, costed options; waits for the result',
    options: { base: { type: 'string' }, train: { type: 'string' }, validation: { type: 'string' }, sample: { type: 'string' }, cuts: { type: 'string' }, epochs: { type: 'string' }, 'no-wait': { type: 'boolean' } },
    args: [0, 0],
    async run(ctx, v) {
      const budget = { sampleSize: int(v, 'sample', 20), maxCuts: int(v, 'cuts', 1), epochs: int(v, 'epochs', 1) };
      const validation = str(v, 'validation');
      const body = { baseModelId: required(v, 'base'), trainDatasetId: required(v, 'train'), ...(validation ? { validationDatasetId: validation } : {}), budget: JSON.parse(JSON.stringify(budget)) };
      const created = await ctx.client.advice.create(body, { idempotencyKey: randomUUID() });
      const a = v['no-wait'] ? created : await ctx.client.advice.wait(created.id);
      ctx.print(a, () => report(a));
      return a.status === 'failed' ? 1 : a.status === 'cancelled' ? 4 : 0;
    },
  },
  show: {
    usage: '<id>',
    summary: 'Show an advice: its measurements and options',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const a = await ctx.client.advice.get(id);
      ctx.print(a, () => report(a));
      return 0;
    },
  },
};
