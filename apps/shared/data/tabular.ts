// The user's own tabular data: CSV (with a header) or NDJSON, numeric feature
// columns plus a label column. Errors name the row and column at fault. CSV is
// read by csv-parse (RFC 4180: quoted fields may hold commas, quotes and line
// breaks; an unterminated quote is an error, not data).
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

function bad(message: string, where: { row?: number; column?: string } = {}): never {
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

/** The CSV's records, the header first; at most maxRows + 2 of them are read (enough to tell it is over). */
function csvRecords(text: string, maxRows: number): string[][] {
  let records: string[][];
  try {
    records = parseCsv(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, ...(Number.isFinite(maxRows) ? { to: maxRows + 2 } : {}) });
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    // `records` counts the complete ones, the header among them: the next is the data row at fault.
    const done = (err as CsvError & { records?: number }).records;
    bad(`The CSV is not valid (RFC 4180): ${err.message.slice(0, 200)}`, typeof done === 'number' && done > 0 ? { row: done } : {});
  }
  // A line of blanks is no record.
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
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

function rowsOf(text: string, opts: TabularOptions, limits: TabularLimits): { header: string[]; rows: Array<Record<string, unknown>> } {
  if (opts.format === 'csv') {
    const [header, ...records] = csvRecords(text, limits.maxRows);
    if (!header || records.length === 0) bad('The CSV file has no data rows');
    checkDatasetSize(records.length, opts.featureColumns?.length ?? header.length - 1, limits);
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined) bad(`The header names column "${dup}" twice`, { column: dup });
    const rows = records.map((cells, i) => {
      if (cells.length !== header.length) bad(`Row ${i + 1} has ${cells.length} fields, the header has ${header.length}`, { row: i + 1 });
      return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
    });
    return { header, rows };
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  // Features are counted from the first row once parsed; rows before anything is parsed.
  checkDatasetSize(lines.length, 0, limits);
  const rows = lines.map((line, i) => {
    if (tooDeep(line)) bad(`Row ${i + 1} nests deeper than ${MAX_ROW_DEPTH} levels; rows are flat objects`, { row: i + 1 });
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      bad(`Row ${i + 1} is not valid JSON`, { row: i + 1 });
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) bad(`Row ${i + 1} is not a JSON object`, { row: i + 1 });
    return obj as Record<string, unknown>;
  });
  if (rows.length === 0) bad('The NDJSON file has no rows');
  return { header: Object.keys(rows[0]), rows };
}

export function parseTabular(bytes: Uint8Array, opts: TabularOptions, limits: TabularLimits = { maxRows: Infinity, maxFeatures: Infinity }): TabularData {
  const text = Buffer.from(bytes).toString('utf8');
  const { header, rows } = rowsOf(text, opts, limits);
  const odd = header.find((h) => h.length > 128 || !PLAIN.test(h));
  if (odd !== undefined) bad(`A column name is too long or holds control characters: ${JSON.stringify(odd.slice(0, 130))}`, { column: odd.slice(0, 130) });
  if (!header.includes(opts.labelColumn)) bad(`The label column "${opts.labelColumn}" is not in the data`, { column: opts.labelColumn });
  const featureColumns = opts.featureColumns ?? header.filter((h) => h !== opts.labelColumn);
  if (featureColumns.length === 0) bad('The data has no feature columns');
  for (const c of featureColumns) if (!header.includes(c)) bad(`The feature column "${c}" is not in the data`, { column: c });
  checkDatasetSize(rows.length, featureColumns.length, limits);
  const features = new Float32Array(rows.length * featureColumns.length);
  const labels = rows.map((r, i) => {
    featureColumns.forEach((c, j) => {
      features[i * featureColumns.length + j] = number(r[c], i + 1, c);
    });
    return label(r[opts.labelColumn], i + 1, opts.labelColumn);
  });
  return { featureColumns, features, labels };
}
