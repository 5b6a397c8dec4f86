// Registration of an image dataset: every object is read and decoded once, and
// the prepared pixels are written in shards under datasets/<id>/ as they are
// made (never the whole collection in memory). Any bad object ends it with one
// 4xx naming the object, and everything written so far is deleted: nothing is
// registered until every object has passed.
import { createHash } from 'node:crypto';
import { AppError, BadRequestError, LimitExceededError } from '../../errors.ts';
import type { S3Location, Storage } from '../../storage/s3-storage.ts';
import { decodeImage, thumbnail } from './decode.ts';
import { listFolders, readManifest, type ImageEntry } from './entries.ts';
import { exampleBytes, indexKey, shardKey } from './layout.ts';
import { withPreprocessDefaults, type ImageIndex, type ImagePreprocess, type ImagesSource, type SizeBin, type StoredImagesSource, type Thumbnail } from './schema.ts';

export interface ImageLimits {
  maxRows: number;
  maxBytes: number;
  maxClasses: number;
  /** MAX_IMAGE_PIXELS: the most pixels an image's header may claim. */
  maxPixels: number;
}

/** Where a registration stands, reported as it goes (the API shows it on GET and over SSE). */
export interface RegistrationProgress {
  phase: 'listing' | 'decoding' | 'finishing';
  /** Known once the source is listed. */
  objectsTotal: number | null;
  objectsDone: number;
  bytesRead: number;
  /** A CSV/NDJSON file's size: its progress is bytesRead of it. */
  bytesTotal?: number;
  /** Images (or rows) checked so far, per label in label order. */
  classCounts: Array<{ label: string; count: number }>;
}

export interface RegisterOptions {
  /** Aborting stops the registration at the next object; what was written is deleted. */
  signal?: AbortSignal;
  onProgress?: (p: RegistrationProgress) => void;
}

/**
 * Every class of a training set needs this many images, so that a validation split or a holdout can
 * leave one on each side. A manifest's validation or test split is never split again: one is enough there.
 */
export const MIN_IMAGES_PER_CLASS = 2;

export interface ImageRegistration {
  source: StoredImagesSource;
  featureShape: number[];
  numExamples: number;
  labels: string[];
  classCounts: Array<{ label: string; count: number }>;
}

const SHARD_BYTES = 4 * 2 ** 20;
/** Objects fetched and decoded at once: enough to hide S3 latency; libvips bounds the CPU. */
const CONCURRENCY = 8;
const MAX_THUMBNAILS = 12;
const SIZE_BINS = [32, 64, 128, 256, 512, 1024, 2048];

/** Runs fn over items with at most `limit` at once; results in item order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

async function readObject(e: ImageEntry, storage: Storage, maxBytes: number): Promise<Uint8Array> {
  return storage.getBytes(e.loc.key, e.loc.bucket, maxBytes).catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'object_too_large') {
      const size = Number((err.details as { size?: number })?.size);
      throw new LimitExceededError('object_too_large', `${e.uri} is ${size} bytes`, 413, 'MAX_DATASET_BYTES', maxBytes, size);
    }
    throw err;
  });
}

function labelsOf(entries: ImageEntry[], maxClasses: number, minPerClass: number): { labels: string[]; counts: Map<string, number> } {
  if (entries.length === 0) throw new BadRequestError('dataset_empty', 'The source lists no images');
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  if (counts.size > maxClasses) {
    throw new LimitExceededError('dataset_too_many_classes', `The dataset has ${counts.size} distinct labels`, 413, 'MAX_DATASET_CLASSES', maxClasses, counts.size);
  }
  for (const [label, count] of counts) {
    if (count >= minPerClass) continue;
    const uri = entries.find((e) => e.label === label)!.uri;
    throw new BadRequestError('dataset_class_too_small', `The class "${label}" has ${count} image (${uri}); every class needs at least ${minPerClass}, so that a validation split or holdout can take one`, {
      label,
      uri,
      count,
      minimum: minPerClass,
    });
  }
  const unique = [...counts.keys()];
  const numeric = unique.every((l) => Number.isFinite(Number(l)));
  return { labels: numeric ? unique.sort((a, b) => Number(a) - Number(b)) : unique.sort(), counts };
}

class ShardWriter {
  readonly histogram = SIZE_BINS.map((upTo) => ({ upTo, count: 0 }) as SizeBin).concat([{ upTo: null, count: 0 }]);
  readonly thumbnails: Thumbnail[] = [];
  readonly digests: string[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    private readonly prep: ImagePreprocess,
  ) {}

  async write(entries: ImageEntry[], files: Uint8Array[], pixels: Uint8Array[], sizes: Array<{ width: number; height: number }>, maxPixels: number) {
    const shard = Buffer.concat(pixels);
    this.digests.push(createHash('sha256').update(JSON.stringify(this.prep)).update(shard).digest('hex'));
    await this.storage.put(shardKey(this.prefix, this.digests.length - 1), shard);
    for (const s of sizes) this.histogram.find((b) => b.upTo === null || Math.max(s.width, s.height) <= b.upTo)!.count++;
    for (let i = 0; i < entries.length && this.thumbnails.length < MAX_THUMBNAILS; i++) {
      if (this.thumbnails.some((t) => t.label === entries[i].label)) continue;
      const key = `${this.prefix}thumbs/${this.thumbnails.length}.png`;
      await this.storage.put(key, await thumbnail(files[i], maxPixels), 'image/png');
      this.thumbnails.push({ label: entries[i].label, key });
    }
  }
}

async function entriesOf(source: ImagesSource, storage: Storage, limits: ImageLimits, checkUri: (uri: string) => S3Location) {
  if (source.layout === 'manifest') return readManifest(source, storage, limits, checkUri);
  if (source.format || source.split) throw new BadRequestError('dataset_invalid', 'format and split are for manifests; a folder layout has neither', {});
  return { entries: await listFolders(checkUri(source.uri), storage, limits), splitCounts: undefined };
}

/** Objects done so far, for progress reports. */
class Tally {
  private objects = 0;
  private bytes = 0;
  private readonly counts: Map<string, number>;

  constructor(private readonly labels: string[], private readonly total: number) {
    this.counts = new Map(labels.map((l) => [l, 0]));
  }

  add(label: string, bytes: number): void {
    this.objects++;
    this.bytes += bytes;
    this.counts.set(label, this.counts.get(label)! + 1);
  }

  progress(phase: RegistrationProgress['phase']): RegistrationProgress {
    const classCounts = this.labels.map((label) => ({ label, count: this.counts.get(label)! }));
    return { phase, objectsTotal: this.total, objectsDone: this.objects, bytesRead: this.bytes, classCounts };
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('registration aborted');
}

/** Validates, prepares and stores every image of the source; on any failure (or abort), nothing is left behind. */
export async function registerImages(id: string, source: ImagesSource, storage: Storage, limits: ImageLimits, checkUri: (uri: string) => S3Location, opts: RegisterOptions = {}): Promise<ImageRegistration> {
  const prep = withPreprocessDefaults(source.preprocess);
  const report = opts.onProgress ?? (() => undefined);
  report({ phase: 'listing', objectsTotal: null, objectsDone: 0, bytesRead: 0, classCounts: [] });
  const { entries, splitCounts } = await entriesOf(source, storage, limits, checkUri);
  const splitAgain = source.split !== 'validation' && source.split !== 'test';
  const { labels, counts } = labelsOf(entries, limits.maxClasses, splitAgain ? MIN_IMAGES_PER_CLASS : 1);
  const prefix = `datasets/${id}/`;
  const shardSize = Math.max(1, Math.min(1024, Math.floor(SHARD_BYTES / exampleBytes(prep))));
  const writer = new ShardWriter(storage, prefix, prep);
  const done = new Tally(labels, entries.length);
  report(done.progress('decoding'));
  try {
    for (let start = 0; start < entries.length; start += shardSize) {
      const chunk = entries.slice(start, start + shardSize);
      const files: Uint8Array[] = [];
      const decoded = await pool(chunk.map((e, i) => [e, i] as const), CONCURRENCY, async ([e, i]) => {
        aborted(opts.signal);
        files[i] = await readObject(e, storage, limits.maxBytes);
        const image = await decodeImage(files[i], e.uri, prep, limits.maxPixels);
        done.add(e.label, files[i].byteLength);
        report(done.progress('decoding'));
        return image;
      });
      aborted(opts.signal);
      await writer.write(chunk, files, decoded.map((d) => d.pixels), decoded, limits.maxPixels);
    }
    report(done.progress('finishing'));
    const classOf = new Map(labels.map((l, i) => [l, i] as const));
    const index: ImageIndex = { labels, classes: entries.map((e) => classOf.get(e.label)!), shardDigests: writer.digests };
    await storage.put(indexKey(prefix), JSON.stringify(index), 'application/json');
  } catch (err) {
    await storage.deletePrefix(prefix).catch(() => undefined);
    throw err;
  }
  const stored: StoredImagesSource = {
    ...source,
    preprocess: prep,
    prefix,
    shardSize,
    numShards: writer.digests.length,
    sizeHistogram: writer.histogram,
    thumbnails: writer.thumbnails,
    ...(splitCounts ? { splitCounts } : {}),
  };
  return {
    source: stored,
    featureShape: [prep.size[0], prep.size[1], prep.channels === 'grayscale' ? 1 : 3],
    numExamples: entries.length,
    labels,
    classCounts: labels.map((label) => ({ label, count: counts.get(label)! })),
  };
}
