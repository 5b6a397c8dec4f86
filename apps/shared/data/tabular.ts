// The user's own tabular data: CSV (with a header) or NDJSON, numeric feature
// columns plus a label column. Errors name the row and column at fault.
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
  if (!Number.isFinite(Math.fround(n))) bad(`Row ${row}, column "${column}": ${JSON.stringify(raw)} is not a finite number`, { row, column });
  return n;
}

function label(raw: unknown, row: number, column: string): string {
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'string' && raw.trim() !== '' && raw.length <= 100 && PLAIN.test(raw)) return raw.trim();
  bad(`Row ${row}, column "${column}": the label is missing or invalid`, { row, column });
}

/** Splits one CSV line, honouring double-quoted fields. */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

function rowsOf(text: string, opts: TabularOptions, limits: TabularLimits): { header: string[]; rows: Array<Record<string, unknown>> } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (opts.format === 'csv') {
    if (lines.length < 2) bad('The CSV file has no data rows');
    const header = splitCsvLine(lines[0]);
    checkDatasetSize(lines.length - 1, opts.featureColumns?.length ?? header.length - 1, limits);
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined) bad(`The header names column "${dup}" twice`, { column: dup });
    const rows = lines.slice(1).map((line, i) => {
      const cells = splitCsvLine(line);
      if (cells.length !== header.length) bad(`Row ${i + 1} has ${cells.length} fields, the header has ${header.length}`, { row: i + 1 });
      return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
    });
    return { header, rows };
  }
  // Features are counted from the first row once parsed; rows before anything is parsed.
  checkDatasetSize(lines.length, 0, limits);
  const rows = lines.map((line, i) => {
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
