// finetune datasets add|list|show
import { readFile } from 'node:fs/promises';
import type { DatasetSource } from '../../client/index.ts';
import { collect, int, list, required, str, type Command, type Values } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { datasetsTable } from '../format.ts';
import { randomUUID } from 'node:crypto';

/** The source from exactly one of --mnist, --s3 or --source. */
async function sourceOf(v: Values): Promise<DatasetSource> {
  const given = ['mnist', 's3', 'source'].filter((k) => v[k] !== undefined);
  if (given.length !== 1) throw new UsageError('Give exactly one source: --mnist, --s3 <uri> or --source <json|@file>');
  if (v.mnist) {
    const split = str(v, 'split');
    if (split !== undefined && split !== 'train' && split !== 'test') throw new UsageError('--split is train or test');
    const classes = list(v, 'classes')?.map((c) => {
      if (!/^\d$/.test(c)) throw new UsageError(`--classes takes digits 0-9, not "${c}"`);
      return Number(c);
    });
    return { type: 'mnist', ...(split ? { split } : {}), ...(classes ? { classes } : {}), ...opt('count', int(v, 'count', 1)), ...opt('offset', int(v, 'offset')) };
  }
  if (v.s3 !== undefined) {
    const uri = required(v, 's3');
    const format = str(v, 'format') ?? (/\.ndjson$|\.jsonl$/i.test(uri) ? 'ndjson' : /\.csv$/i.test(uri) ? 'csv' : undefined);
    if (format !== 'csv' && format !== 'ndjson') throw new UsageError('--format is csv or ndjson (it could not be told from the URI)');
    const featureColumns = list(v, 'feature-columns');
    return { type: 's3', uri, format, labelColumn: required(v, 'label-column'), ...(featureColumns ? { featureColumns } : {}) };
  }
  return (await jsonArg(required(v, 'source'), '--source')) as DatasetSource;
}

const opt = <K extends string, T>(k: K, value: T | undefined) => (value === undefined ? {} : ({ [k]: value } as Record<K, T>));

/** Inline JSON, or @file to read it from a file. */
export async function jsonArg(raw: string, what: string): Promise<unknown> {
  const text = raw.startsWith('@') ? await readFile(raw.slice(1), 'utf8').catch(() => { throw new UsageError(`${what}: cannot read ${raw.slice(1)}`); }) : raw;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

export const datasetCommands: Record<string, Command> = {
  add: {
    usage: '--name <name> (--mnist [--split train|test] [--classes 0,1,2] [--count N] [--offset N] | --s3 <s3://bucket/key> --label-column <col> [--format csv|ndjson] [--feature-columns a,b] | --source <json|@file>)',
    summary: 'Register a dataset: built-in MNIST, or a CSV/NDJSON file in S3',
    options: {
      name: { type: 'string' },
      mnist: { type: 'boolean' },
      split: { type: 'string' },
      classes: { type: 'string' },
      count: { type: 'string' },
      offset: { type: 'string' },
      s3: { type: 'string' },
      format: { type: 'string' },
      'label-column': { type: 'string' },
      'feature-columns': { type: 'string' },
      source: { type: 'string' },
    },
    args: [0, 0],
    async run(ctx, v) {
      const d = await ctx.client.datasets.create({ name: required(v, 'name'), source: await sourceOf(v) }, { idempotencyKey: randomUUID() });
      ctx.print(d, () => datasetsTable([d]));
      return 0;
    },
  },
  list: {
    usage: '[--limit N] [--all]',
    summary: 'List datasets, newest first',
    options: { limit: { type: 'string' }, all: { type: 'boolean' } },
    args: [0, 0],
    async run(ctx, v) {
      const limit = int(v, 'limit', 1);
      const rows = v.all ? await collect(ctx.client.datasets.all()) : (await ctx.client.datasets.list({ limit })).data;
      ctx.print(rows, () => datasetsTable(rows));
      return 0;
    },
  },
  show: {
    usage: '<id>',
    summary: 'Show a dataset: shape, labels and examples per label',
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const d = await ctx.client.datasets.get(id);
      ctx.print(d, () => `${datasetsTable([d])}\n\nexamples per label: ${d.classCounts.map((c) => `${c.label}=${c.count}`).join(' ')}`);
      return 0;
    },
  },
};
