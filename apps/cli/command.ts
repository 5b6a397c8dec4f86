// What every command gets, and how it says what it takes.
import type { ParseArgsConfig } from 'node:util';
import type { FinetuneClient } from '../client/index.ts';
import { UsageError } from './exit-codes.ts';

export interface Ctx {
  client: FinetuneClient;
  json: boolean;
  quiet: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** --json: the value as JSON on stdout; otherwise the text for people. */
  print(value: unknown, human: () => string): void;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** After the command words, e.g. `<id> -o <dir>`. */
  usage: string;
  summary: string;
  /** Extra lines of help. */
  help?: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes: [min, max]. */
  args: [number, number];
  run(ctx: Ctx, values: Values, args: string[]): Promise<number>;
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function int(values: Values, name: string, min = 0): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} takes a whole number >= ${min}, not "${v}"`);
  return Number(v);
}

export function list(values: Values, name: string): string[] | undefined {
  const v = str(values, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Every item of an async iterable (Array.fromAsync needs Node 22). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
