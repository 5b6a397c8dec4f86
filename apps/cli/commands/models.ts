// finetune models add|list|show|download|url
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { downloadKerasModel, downloadModel } from '../../client/index.ts';
import type { RegisterModelInput } from '../../client/types.ts';
import { collect, int, list, required, str, type Command } from '../command.ts';
import { modelsTable, table } from '../format.ts';

export const modelCommands: Record<string, Command> = {
  add: {
    usage: '--name <name> --uri <s3://bucket/prefix/model.json | …/NAME.keras | …/NAME.h5> [--labels a,b,c] [--format layers-model|keras|h5]',
    summary: 'Register a model found in S3 as a base model: a TensorFlow.js LayersModel, or a Keras .keras / .h5 file',
    options: { name: { type: 'string' }, uri: { type: 'string' }, labels: { type: 'string' }, format: { type: 'string' } },
    args: [0, 0],
    async run(ctx, v) {
      const labels = list(v, 'labels');
      const format = str(v, 'format') as RegisterModelInput['format'];
      const body = { name: required(v, 'name'), uri: required(v, 'uri'), ...(labels ? { labels } : {}), ...(format ? { format } : {}) };
      const m = await ctx.client.models.register(body, { idempotencyKey: randomUUID() });
      ctx.print(m, () => modelsTable([m]));
      return 0;
    },
  },
  list: {
    usage: '[--limit N] [--all]',
    summary: 'List models, newest first, with their lineage',
    options: { limit: { type: 'string' }, all: { type: 'boolean' } },
    args: [0, 0],
    async run(ctx, v) {
      const rows = v.all ? await collect(ctx.client.models.all()) : (await ctx.client.models.list({ limit: int(v, 'limit', 1) })).data;
      ctx.print(rows, () => modelsTable(rows));
      return 0;
    },
  },
  show: {
    usage: '<id>',
    summary: 'Show a model: layers, parameters, shapes, lineage',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const m = await ctx.client.models.get(id);
      ctx.print(m, () => [
        modelsTable([m]),
        '',
        table(['layer', 'class', 'trainable', 'params'], m.layers.map((l) => [l.name, l.className, String(l.trainable), l.params])),
        '',
        `labels: ${m.labels.join(', ') || '-'}`,
      ].join('\n'));
      return 0;
    },
  },
  download: {
    usage: '<id> [-o <dir>] | <id> --keras [-o <file.keras>]',
    summary: 'Download model.json and weights.bin into a directory (default ./model-<id>), or with --keras one Keras 3 .keras file (default ./model-<id>.keras)',
    options: { output: { type: 'string', short: 'o' }, keras: { type: 'boolean' } },
    args: [1, 1],
    async run(ctx, v, [id]) {
      if (v.keras) {
        const out = await downloadKerasModel(ctx.client, id, path.resolve(str(v, 'output') ?? `model-${id}.keras`));
        ctx.print({ id, ...out }, () => `wrote ${out.file} (${out.bytes} bytes)`);
        return 0;
      }
      const dir = path.resolve(str(v, 'output') ?? `model-${id}`);
      const out = await downloadModel(ctx.client, id, dir);
      const base = out.base ? `, and its base graph ${out.base.modelJson} (run it to node ${JSON.stringify(out.base.outputNode)}, then the head)` : '';
      ctx.print({ id, dir, ...out }, () => `wrote ${out.modelJson} and ${out.weights}${base} (${out.bytes} bytes)`);
      return 0;
    },
  },
  url: {
    usage: '<id>',
    summary: 'A short-lived signed URL that loads the model without a key (tf.loadLayersModel(url))',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const signed = await ctx.client.models.downloadUrl(id);
      ctx.print(signed, () => `${signed.href}\n(valid until ${signed.expiresAt})`);
      return 0;
    },
  },
};
