// finetune datasets add|list|show|follow|cancel
import { readFile } from 'node:fs/promises';
import type { DatasetSource } from '../../client/index.ts';
import { collect, int, list, required, str, type Command, type Values } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import type { Ctx } from '../command.ts';
import type { Dataset } from '../../client/index.ts';
import { RegistrationProgress } from '../dataset-progress.ts';
import { datasetsTable } from '../format.ts';
import { randomUUID } from 'node:crypto';

/** --images <s3://bucket/prefix/ | s3://bucket/manifest.csv|jsonl> with --size HxW and the preprocessing flags. */
function imagesSource(v: Values): DatasetSource {
  const uri = required(v, 'images');
  const size = /^(\d+)x(\d+)$/.exec(required(v, 'size'));
  if (!size) throw new UsageError('--size is HEIGHTxWIDTH, e.g. 96x96');
  const layout = str(v, 'layout') ?? (uri.endsWith('/') ? 'folders' : 'manifest');
  if (layout !== 'folders' && layout !== 'manifest') throw new UsageError('--layout is folders or manifest');
  const pick = <T extends string>(name: string, allowed: readonly T[]) => {
    const value = str(v, name);
    if (value !== undefined && !allowed.includes(value as T)) throw new UsageError(`--${name} is one of ${allowed.join(', ')}`);
    return opt(name, value as T | undefined);
  };
  const preprocess = {
    size: [Number(size[1]), Number(size[2])],
    ...pick('resize', ['stretch', 'centerCrop', 'pad'] as const),
    ...pick('channels', ['rgb', 'grayscale'] as const),
    ...pick('scaling', ['unit', 'symmetric', 'caffe', 'torch', 'raw'] as const),
  };
  const split = str(v, 'split');
  return { type: 'images', uri, layout, preprocess, ...(split ? { split: split as 'train' | 'validation' | 'test' } : {}) };
}

/**
 * Follows an image registration over its event stream with a bar on stderr; prints the dataset
 * once ready. A failed or cancelled one exits 3 with its error (the object it names).
 */
async function follow(ctx: Ctx, d: Dataset): Promise<number> {
  const bar = ctx.quiet ? undefined : new RegistrationProgress(ctx.stderr, Boolean(ctx.stderr.isTTY));
  const abort = new AbortController();
  // Ctrl-C stops following, not the registration (`datasets cancel` stops that).
  const detach = () => abort.abort(new Error('detached'));
  process.once('SIGINT', detach);
  try {
    const ready = await ctx.client.datasets.wait(d.id, { signal: abort.signal, onProgress: (x) => bar?.update(x) });
    bar?.stop();
    ctx.print(ready, () => showText(ready));
    return EXIT.ok;
  } catch (err) {
    bar?.stop();
    if (!abort.signal.aborted) throw err;
    ctx.stderr.write(`Stopped following; the registration goes on. Follow it again with: finetune datasets follow ${d.id}\n`);
    return EXIT.detached;
  } finally {
    process.removeListener('SIGINT', detach);
  }
}

const showText = (d: Dataset) =>
  `${datasetsTable([d])}\n\n${d.status === 'ready' ? `examples per label: ${d.classCounts.map((c) => `${c.label}=${c.count}`).join(' ')}` : `status ${d.status}${d.error ? `: ${d.error.code}: ${d.error.message}` : ''}`}`;

/** The source from exactly one of --mnist, --s3, --images or --source. */
async function sourceOf(v: Values): Promise<DatasetSource> {
  const given = ['mnist', 's3', 'images', 'source'].filter((k) => v[k] !== undefined);
  if (given.length !== 1) throw new UsageError('Give exactly one source: --mnist, --s3 <uri>, --images <uri> or --source <json|@file>');
  if (v.images !== undefined) return imagesSource(v);
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
    usage:
      '--name <name> (--mnist [--split train|test] [--classes 0,1,2] [--count N] [--offset N] | --s3 <s3://bucket/key> --label-column <col> [--format csv|ndjson] [--feature-columns a,b] | ' +
      '--images <s3://bucket/prefix/|manifest> --size HxW [--layout folders|manifest] [--channels rgb|grayscale] [--resize stretch|centerCrop|pad] [--scaling unit|symmetric|caffe|torch|raw] [--split train|validation|test] [--wait] | --source <json|@file>)',
    summary: 'Register a dataset: built-in MNIST, a CSV/NDJSON file in S3, or images in S3 (validated in the background; --wait shows a progress bar)',
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
      images: { type: 'string' },
      size: { type: 'string' },
      layout: { type: 'string' },
      channels: { type: 'string' },
      resize: { type: 'string' },
      scaling: { type: 'string' },
      wait: { type: 'boolean' },
    },
    args: [0, 0],
    async run(ctx, v) {
      const d = await ctx.client.datasets.create({ name: required(v, 'name'), source: await sourceOf(v) }, { idempotencyKey: randomUUID() });
      if (v.wait && d.status === 'validating') return follow(ctx, d);
      ctx.print(d, () => datasetsTable([d]));
      return 0;
    },
  },
  follow: {
    usage: '<id>',
    summary: "Follow an image dataset's registration with a progress bar until it is ready (exit 3 if it failed or was cancelled)",
    args: [1, 1],
    async run(ctx, _v, [id]) {
      return follow(ctx, await ctx.client.datasets.get(id));
    },
  },
  cancel: {
    usage: '<id>',
    summary: "Cancel an image dataset's registration; every object it wrote is deleted",
    args: [1, 1],
    async run(ctx, _v, [id]) {
      const d = await ctx.client.datasets.cancel(id, { idempotencyKey: randomUUID() });
      ctx.print(d, () => showText(d));
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
      ctx.print(d, () => showText(d));
      return 0;
    },
  },
};
