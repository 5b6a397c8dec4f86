// The objects an image dataset is made of, with their labels: listed from a
// folder-per-class prefix, or read from a CSV/JSONL manifest of uri,label[,split].
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { BadRequestError, LimitExceededError } from '../../errors.ts';
import { PLAIN_TEXT } from '../../jobs/spec.ts';
import type { S3Location, Storage } from '../../storage/s3-storage.ts';
import type { ImagesSource } from './schema.ts';

const PLAIN = new RegExp(PLAIN_TEXT, 'u');
const SPLITS = ['train', 'validation', 'test'];

export interface ImageEntry {
  uri: string;
  loc: S3Location;
  label: string;
  split?: string;
  /** Bytes, as listed (a folder layout): the read skips its HEAD. */
  size?: number;
}

export interface EntryLimits {
  maxRows: number;
  maxBytes: number;
}

function bad(message: string, details: Record<string, unknown>): never {
  throw new BadRequestError('dataset_invalid', message, details);
}

function checkLabel(label: unknown, where: string, details: Record<string, unknown>): string {
  if (typeof label !== 'string' || label.trim() === '' || label.length > 100 || !PLAIN.test(label)) {
    bad(`${where}: the label is missing, over 100 characters, or holds control characters`, details);
  }
  return label.trim();
}

function tooMany(count: number, limits: EntryLimits): void {
  if (count > limits.maxRows) throw new LimitExceededError('dataset_too_many_rows', `The dataset has more than ${limits.maxRows} images`, 413, 'MAX_DATASET_ROWS', limits.maxRows, count);
}

/** s3://bucket/prefix/<label>/…: the first folder under the prefix names the class. */
export async function listFolders(loc: S3Location, storage: Storage, limits: EntryLimits): Promise<ImageEntry[]> {
  const prefix = loc.key.endsWith('/') ? loc.key : `${loc.key}/`;
  const objects = await storage.list(prefix, loc.bucket);
  const entries: ImageEntry[] = [];
  for (const o of objects) {
    if (o.key.endsWith('/')) continue; // a console's "folder" marker, no data
    const uri = `s3://${loc.bucket}/${o.key}`;
    const rest = o.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) bad(`${uri} is not inside a class folder (${prefix}<label>/…)`, { uri });
    const label = checkLabel(rest.slice(0, slash), `The folder of ${uri}`, { uri });
    entries.push({ uri, loc: { bucket: loc.bucket, key: o.key }, label, size: o.size });
    tooMany(entries.length, limits);
  }
  return entries;
}

function manifestRows(text: string, format: 'csv' | 'jsonl'): Array<Record<string, unknown>> {
  if (format === 'jsonl') {
    return text.split(/\r?\n/).flatMap((line, i) => {
      if (line.trim() === '') return [];
      let obj: unknown;
      try {
        obj = line.length <= 10_000 ? JSON.parse(line) : undefined;
      } catch {
        // reported below
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) bad(`Manifest line ${i + 1} is not a JSON object of uri, label[, split]`, { row: i + 1 });
      return [obj as Record<string, unknown>];
    });
  }
  try {
    return parseCsv(text, { bom: true, trim: true, skip_empty_lines: true, columns: true });
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    bad(`The manifest is not valid CSV with a header uri,label[,split]: ${err.message.slice(0, 200)}`, {});
  }
}

/**
 * A manifest's rows; each uri is checked by `checkUri` (our bucket's upload area or an allowed
 * source bucket) before any of them is read. `split` keeps only that split's rows.
 */
export async function readManifest(source: ImagesSource, storage: Storage, limits: EntryLimits, checkUri: (uri: string) => S3Location): Promise<{ entries: ImageEntry[]; splitCounts?: Record<string, number> }> {
  const loc = checkUri(source.uri);
  const bytes = await storage.getBytes(loc.key, loc.bucket, limits.maxBytes);
  const format = source.format ?? (/\.csv$/i.test(loc.key) ? 'csv' : 'jsonl');
  const rows = manifestRows(Buffer.from(bytes).toString('utf8'), format);
  tooMany(rows.length, limits);
  const seen = new Map<string, number>();
  const splitCounts: Record<string, number> = {};
  const entries: ImageEntry[] = [];
  rows.forEach((r, i) => {
    const row = i + 1;
    if (typeof r.uri !== 'string' || r.uri === '') bad(`Manifest row ${row} has no uri`, { row });
    const uri = r.uri;
    const first = seen.get(uri);
    if (first !== undefined) bad(`Manifest rows ${first} and ${row} both list ${uri.slice(0, 1100)}`, { row, uri });
    seen.set(uri, row);
    const label = checkLabel(r.label, `Manifest row ${row}`, { row, uri });
    const split = r.split === undefined || r.split === '' ? undefined : String(r.split);
    if (split !== undefined && !SPLITS.includes(split)) bad(`Manifest row ${row}: split must be train, validation or test`, { row, uri });
    if (split) splitCounts[split] = (splitCounts[split] ?? 0) + 1;
    if (source.split && split === undefined) bad(`Manifest row ${row} has no split, and the source asks for split ${source.split}`, { row, uri });
    if (source.split && split !== source.split) return;
    entries.push({ uri, loc: checkUri(uri), label, split });
  });
  return { entries, splitCounts: Object.keys(splitCounts).length ? splitCounts : undefined };
}
