// A CSV or NDJSON object read as a stream of checked rows: only the bytes in
// flight, the current record and the parser's state are held, whatever the
// file's size. CSV goes through csv-parse's streaming parser (the same parser
// and options as the whole-file one); NDJSON is split on line feeds as bytes.
import { pipeline } from 'node:stream';
import { CsvError, parse as csvParser } from 'csv-parse';
import { LimitExceededError } from '../errors.ts';
import { bad, CSV_OPTIONS, csvError, type TabularFormat, type TabularRow, type TabularRows } from './tabular.ts';

/** Longest row (record or line) held while it is read: 10,000 features of 25 characters fit 100 times over. */
export const MAX_ROW_BYTES = 4 * 2 ** 20;

export interface ByteCount {
  bytes: number;
}

/** The body's chunks, counted as they pass; past maxBytes (an object rewritten after its HEAD) it is refused. */
export async function* counted(body: AsyncIterable<Uint8Array>, count: ByteCount, uri: string, maxBytes: number, onChunk: () => void = () => undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    count.bytes += chunk.byteLength;
    if (count.bytes > maxBytes) throw new LimitExceededError('object_too_large', `${uri} is more than ${maxBytes} bytes`, 413, 'MAX_DATASET_BYTES', maxBytes, count.bytes);
    yield chunk;
    onChunk();
  }
}

async function* csvRows(body: AsyncIterable<Uint8Array>, rows: TabularRows): AsyncGenerator<TabularRow> {
  const parser = csvParser({ ...CSV_OPTIONS, max_record_size: MAX_ROW_BYTES });
  // The parser is destroyed when the caller stops early (a bad row); pipeline then ends the source (the S3 socket).
  pipeline(body, parser, () => undefined);
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      const row = rows.csv(cells);
      if (row) yield row;
    }
  } catch (err) {
    if (err instanceof CsvError) csvError(err);
    throw err;
  }
}

/** Lines as text: a line feed never occurs inside a UTF-8 sequence, so bytes split there decode whole. */
async function* lines(body: AsyncIterable<Uint8Array>, rows: TabularRows): AsyncGenerator<string> {
  let rest = Buffer.alloc(0);
  const text = (b: Buffer) => b.toString('utf8').replace(/\r$/, '');
  for await (const chunk of body) {
    const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      yield text(buf.subarray(start, nl));
      start = nl + 1;
    }
    // Copied: a view would keep the whole chunk alive.
    rest = Buffer.from(buf.subarray(start));
    if (rest.length > MAX_ROW_BYTES) bad(`Row ${rows.rows + 1} is longer than ${MAX_ROW_BYTES} bytes`, { row: rows.rows + 1 });
  }
  if (rest.length > 0) yield text(rest);
}

async function* ndjsonRows(body: AsyncIterable<Uint8Array>, rows: TabularRows): AsyncGenerator<TabularRow> {
  for await (const line of lines(body, rows)) {
    const row = rows.ndjson(line);
    if (row) yield row;
  }
}

/** The file's rows, each checked as it arrives; the end of the file is checked too (no rows is a 400). */
export async function* streamRows(body: AsyncIterable<Uint8Array>, format: TabularFormat, rows: TabularRows): AsyncGenerator<TabularRow> {
  yield* format === 'csv' ? csvRows(body, rows) : ndjsonRows(body, rows);
  rows.finish();
}
