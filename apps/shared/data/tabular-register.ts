// Registration of a CSV/NDJSON dataset, streamed: the S3 object is read a chunk
// at a time, every row is checked as it arrives (tabular.ts), and the examples
// are written as float32 shards under datasets/<id>/ as they fill. Memory holds
// one shard and the labels seen (at most MAX_DATASET_CLASSES), whatever the
// file's size. A bad row, a limit or an abort deletes everything written.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { LimitExceededError } from '../errors.ts';
import { parseS3Uri, type Storage } from '../storage/s3-storage.ts';
import type { RegisterOptions, RegistrationProgress } from './images/register.ts';
import { tabularClassesKey, tabularIndexKey, tabularShardKey, type TabularIndex, type TabularShardsSource } from './stream/tabular-shards.ts';
import { TabularRows, type TabularLimits, type TabularOptions } from './tabular.ts';
import { counted, streamRows, type ByteCount } from './tabular-stream.ts';

/** About this many bytes of features a shard (as images: 4 MiB). */
export const TABULAR_SHARD_BYTES = 4 * 2 ** 20;

export interface TabularSource extends TabularOptions {
  type: 's3';
  uri: string;
}

export interface TabularRegistration {
  source: TabularShardsSource;
  featureShape: number[];
  numExamples: number;
  labels: string[];
  classCounts: Array<{ label: string; count: number }>;
}

export interface TabularRegisterOptions extends RegisterOptions {
  /** Tests make small shards to have many. @defaultValue TABULAR_SHARD_BYTES */
  shardBytes?: number;
}

export interface TabularRegisterLimits extends TabularLimits {
  maxBytes: number;
  maxClasses: number;
}

/** Sorted as sortLabels does (numbers as numbers); kept here so this module needs nothing of dataset-source. */
function sorted(labels: string[]): string[] {
  const numeric = labels.every((l) => l !== '' && Number.isFinite(Number(l)));
  return numeric ? [...labels].sort((a, b) => Number(a) - Number(b)) : [...labels].sort();
}

class ShardWriter {
  readonly sizes: number[] = [];
  readonly digests: string[] = [];
  private features = new Float32Array(0);
  private codes = new Int32Array(0);
  private n = 0;
  private f = 0;
  private rows = 1;

  constructor(private readonly storage: Storage, private readonly prefix: string, private readonly shardBytes: number) {}

  async add(features: Float32Array, code: number): Promise<void> {
    if (this.features.length === 0) {
      // Sized once the columns are known (the header, or NDJSON's first row).
      this.f = features.length;
      this.rows = Math.max(1, Math.floor(this.shardBytes / (4 * this.f)));
      this.features = new Float32Array(this.rows * this.f);
      this.codes = new Int32Array(this.rows);
    }
    this.features.set(features, this.n * this.f);
    this.codes[this.n++] = code;
    if (this.n === this.rows) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.n === 0) return;
    const s = this.sizes.length;
    const bytes = new Uint8Array(this.features.buffer, 0, this.n * this.f * 4);
    this.digests.push(createHash('sha256').update(bytes).digest('hex'));
    await this.storage.put(tabularShardKey(this.prefix, s), bytes);
    await this.storage.put(tabularClassesKey(this.prefix, s), new Uint8Array(this.codes.buffer, 0, this.n * 4));
    this.sizes.push(this.n);
    this.n = 0;
  }
}

/** Labels in the order rows first use them, with their counts; one past MAX_DATASET_CLASSES is refused at once. */
class Labels {
  readonly seen: string[] = [];
  private readonly code = new Map<string, number>();
  private readonly counts: number[] = [];

  constructor(private readonly maxClasses: number) {}

  add(label: string): number {
    let c = this.code.get(label);
    if (c === undefined) {
      if (this.seen.length === this.maxClasses) {
        // Stopped here: counting every distinct label to the end would hold them all.
        const max = this.maxClasses;
        throw new LimitExceededError('dataset_too_many_classes', `The dataset has more than ${max} distinct labels`, 413, 'MAX_DATASET_CLASSES', max, max + 1);
      }
      c = this.seen.length;
      this.seen.push(label);
      this.code.set(label, c);
      this.counts.push(0);
    }
    this.counts[c]++;
    return c;
  }

  classCounts(): Array<{ label: string; count: number }> {
    return sorted(this.seen).map((label) => ({ label, count: this.counts[this.code.get(label)!] }));
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('registration aborted');
}

/** The object's size (HEAD), refused past MAX_DATASET_BYTES before a byte of it is read. */
export async function tabularObjectSize(uri: string, storage: Storage, maxBytes: number): Promise<number> {
  const loc = parseS3Uri(uri);
  const size = await storage.size(loc.key, loc.bucket);
  if (size > maxBytes) throw new LimitExceededError('object_too_large', `${uri} is ${size} bytes`, 413, 'MAX_DATASET_BYTES', maxBytes, size);
  return size;
}

async function writeAll(id: string, source: TabularSource, storage: Storage, limits: TabularRegisterLimits, opts: TabularRegisterOptions) {
  const loc = parseS3Uri(source.uri);
  const size = await tabularObjectSize(source.uri, storage, limits.maxBytes);
  const prefix = `datasets/${id}/`;
  const rows = new TabularRows(source, limits);
  const labels = new Labels(limits.maxClasses);
  const writer = new ShardWriter(storage, prefix, opts.shardBytes ?? TABULAR_SHARD_BYTES);
  const read: ByteCount = { bytes: 0 };
  const progress = (phase: RegistrationProgress['phase']): RegistrationProgress => ({ phase, objectsTotal: 1, objectsDone: phase === 'finishing' ? 1 : 0, bytesRead: read.bytes, bytesTotal: size, classCounts: labels.classCounts() });
  const report = () => opts.onProgress?.(progress('decoding'));
  report();
  const body = size === 0 ? Readable.from([]) : await storage.getStream(loc.key, loc.bucket, limits.maxBytes);
  for await (const row of streamRows(counted(body, read, source.uri, limits.maxBytes, report), source.format, rows)) {
    aborted(opts.signal);
    await writer.add(row.features, labels.add(row.label));
  }
  aborted(opts.signal);
  await writer.flush();
  opts.onProgress?.(progress('finishing'));
  const index: TabularIndex = { labels: sorted(labels.seen), seen: labels.seen, featureColumns: rows.featureColumns, shardSizes: writer.sizes, shardDigests: writer.digests };
  await storage.put(tabularIndexKey(prefix), JSON.stringify(index), 'application/json');
  return { index, classCounts: labels.classCounts(), prefix };
}

/** Validates every row and stores the examples as shards; on any failure (or abort), nothing is left behind. */
export async function registerTabular(id: string, source: TabularSource, storage: Storage, limits: TabularRegisterLimits, opts: TabularRegisterOptions = {}): Promise<TabularRegistration> {
  try {
    const { index, classCounts, prefix } = await writeAll(id, source, storage, limits, opts);
    const numExamples = index.shardSizes.reduce((a, b) => a + b, 0);
    return {
      source: { ...source, featureColumns: index.featureColumns, prefix, numShards: index.shardSizes.length },
      featureShape: [index.featureColumns.length],
      numExamples,
      labels: index.labels,
      classCounts,
    };
  } catch (err) {
    await storage.deletePrefix(`datasets/${id}/`).catch(() => undefined);
    throw err;
  }
}
