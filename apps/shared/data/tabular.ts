// The user's own tabular data: CSV (with a header) or NDJSON, numeric feature
// columns plus a label column. Errors name the row and column at fault. CSV is
// read by csv-parse (RFC 4180: quoted fields may hold commas, quotes and line
// breaks; an unterminated quote is an error, not data). Rows are checked one at
// a time (TabularRows), so a file can be streamed (tabular-stream.ts) as well as
// parsed whole (parseTabular, for snapshots registered before rows streamed).
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { BadRequestError, LimitExceededError } from '../errors.ts';
import { PLAIN_TEXT } from '../jobs/spec.ts';

// Labels and column names are stored in Postgres and shown to people.
const PLAIN = new RegExp(PLAIN_TEXT, 'u');

export type TabularFormat = 'csv' | 'ndjson';

export interface TabularOptions {
  format: TabularFormat;
  labelColumn: string;
  /** Defaults to every column but the label, in file order. */
  featureColumns?: string[];
}

/** MAX_DATASET_ROWS and MAX_DATASET_FEATURES, checked before any row is parsed. */
export interface TabularLimits {
  maxRows: number;
  maxFeatures: number;
}

export function checkDatasetSize(rows: number, features: number, limits: TabularLimits): void {
  if (rows > limits.maxRows) {
    throw new LimitExceededError('dataset_too_many_rows', `The dataset has ${rows} rows`, 413, 'MAX_DATASET_ROWS', limits.maxRows, rows);
  }
  if (features > limits.maxFeatures) {
    throw new LimitExceededError('dataset_too_many_features', `The dataset has ${features} features per example`, 413, 'MAX_DATASET_FEATURES', limits.maxFeatures, features);
  }
}

export interface TabularData {
  featureColumns: string[];
  features: Float32Array;
  labels: string[];
}

export function bad(message: string, where: { row?: number; column?: string } = {}): never {
  throw new BadRequestError('dataset_invalid', message, where);
}

function number(raw: unknown, row: number, column: string): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
  // Features are stored as float32: a value past its range would become Infinity.
  if (!Number.isFinite(Math.fround(n))) bad(`Row ${row}, column "${column}": ${String(JSON.stringify(raw)).slice(0, 100)} is not a finite number`, { row, column });
  return n;
}

function label(raw: unknown, row: number, column: string): string {
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'string' && raw.trim() !== '' && raw.length <= 100 && PLAIN.test(raw)) return raw.trim();
  bad(`Row ${row}, column "${column}": the label is missing or invalid`, { row, column });
}

/** csv-parse's options, for the whole-file and the streaming parser alike. */
export const CSV_OPTIONS = { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true } as const;

/** A csv-parse error as our 400; `records` counts the complete ones, the header among them: the next is the data row at fault. */
export function csvError(err: CsvError): never {
  const done = (err as CsvError & { records?: number }).records;
  bad(`The CSV is not valid (RFC 4180): ${err.message.slice(0, 200)}`, typeof done === 'number' && done > 0 ? { row: done } : {});
}

/** NDJSON rows are flat objects; nesting is bounded before JSON.parse builds it (and before a message quotes it). */
const MAX_ROW_DEPTH = 16;

function tooDeep(line: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_ROW_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** One example: its features (a buffer reused for the next row: copy it) and its label. */
export interface TabularRow {
  features: Float32Array;
  label: string;
}

/**
 * Checks a file's rows one at a time, holding only the current one: the header (CSV) or first
 * row (NDJSON) fixes the columns, every later row must fit them. Over MAX_DATASET_ROWS is refused
 * as soon as the next row arrives, without reading the rest.
 */
export class TabularRows {
  featureColumns: string[] = [];
  /** Data rows accepted so far. */
  rows = 0;
  private header?: string[];
  private positions: number[] = [];
  private labelAt = -1;
  private scratch = new Float32Array(0);

  constructor(
    private readonly opts: TabularOptions,
    private readonly limits: TabularLimits,
  ) {}

  private columns(header: string[], features: number): void {
    checkDatasetSize(0, features, this.limits);
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined) bad(`The header names column "${dup}" twice`, { column: dup });
    const odd = header.find((h) => h.length > 128 || !PLAIN.test(h));
    if (odd !== undefined) bad(`A column name is too long or holds control characters: ${JSON.stringify(odd.slice(0, 130))}`, { column: odd.slice(0, 130) });
    if (!header.includes(this.opts.labelColumn)) bad(`The label column "${this.opts.labelColumn}" is not in the data`, { column: this.opts.labelColumn });
    this.featureColumns = this.opts.featureColumns ?? header.filter((h) => h !== this.opts.labelColumn);
    if (this.featureColumns.length === 0) bad('The data has no feature columns');
    for (const c of this.featureColumns) if (!header.includes(c)) bad(`The feature column "${c}" is not in the data`, { column: c });
    checkDatasetSize(0, this.featureColumns.length, this.limits);
    this.header = header;
    this.positions = this.featureColumns.map((c) => header.indexOf(c));
    this.labelAt = header.indexOf(this.opts.labelColumn);
    this.scratch = new Float32Array(this.featureColumns.length);
  }

  private next(): number {
    if (this.rows + 1 > this.limits.maxRows) {
      // Stopped at the first row past it: the file may hold many more.
      const max = this.limits.maxRows;
      throw new LimitExceededError('dataset_too_many_rows', `The dataset has more than ${max} rows`, 413, 'MAX_DATASET_ROWS', max, max + 1);
    }
    return ++this.rows;
  }

  /** A CSV record; the first is the header (undefined is returned for it, and for a line of blanks). */
  csv(cells: string[]): TabularRow | undefined {
    if (cells.length === 1 && cells[0] === '') return undefined;
    if (!this.header) {
      this.columns(cells, this.opts.featureColumns?.length ?? cells.length - 1);
      return undefined;
    }
    const row = this.next();
    if (cells.length !== this.header.length) bad(`Row ${row} has ${cells.length} fields, the header has ${this.header.length}`, { row });
    this.positions.forEach((p, j) => (this.scratch[j] = number(cells[p], row, this.featureColumns[j])));
    return { features: this.scratch, label: label(cells[this.labelAt], row, this.opts.labelColumn) };
  }

  /** An NDJSON line; a blank one is skipped (undefined). */
  ndjson(line: string): TabularRow | undefined {
    if (line.trim() === '') return undefined;
    const row = this.next();
    if (tooDeep(line)) bad(`Row ${row} nests deeper than ${MAX_ROW_DEPTH} levels; rows are flat objects`, { row });
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      bad(`Row ${row} is not valid JSON`, { row });
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) bad(`Row ${row} is not a JSON object`, { row });
    const r = obj as Record<string, unknown>;
    // Features are counted from the first row.
    if (!this.header) this.columns(Object.keys(r), 0);
    this.featureColumns.forEach((c, j) => (this.scratch[j] = number(Object.hasOwn(r, c) ? r[c] : undefined, row, c)));
    return { features: this.scratch, label: label(Object.hasOwn(r, this.opts.labelColumn) ? r[this.opts.labelColumn] : undefined, row, this.opts.labelColumn) };
  }

  /** At the end of the file: one with no data rows is refused. */
  finish(): void {
    if (this.rows === 0) bad(this.opts.format === 'csv' ? 'The CSV file has no data rows' : 'The NDJSON file has no rows');
  }
}

/** A whole file in memory: datasets registered before registration streamed keep their CSV/NDJSON snapshot. */
export function parseTabular(bytes: Uint8Array, opts: TabularOptions, limits: TabularLimits = { maxRows: Infinity, maxFeatures: Infinity }): TabularData {
  const text = Buffer.from(bytes).toString('utf8');
  const rows = new TabularRows(opts, limits);
  const features: number[] = [];
  const labels: string[] = [];
  const take = (r: TabularRow | undefined) => {
    if (!r) return;
    for (const v of r.features) features.push(v);
    labels.push(r.label);
  };
  if (opts.format === 'csv') {
    let records: string[][];
    try {
      records = parseCsv(text, { ...CSV_OPTIONS, ...(Number.isFinite(limits.maxRows) ? { to: limits.maxRows + 2 } : {}) });
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      csvError(err);
    }
    for (const cells of records) take(rows.csv(cells));
  } else {
    for (const line of text.split(/\r?\n/)) take(rows.ndjson(line));
  }
  rows.finish();
  return { featureColumns: rows.featureColumns, features: Float32Array.from(features), labels };
}
