// Registration of an image dataset: every object is read and decoded once, and
// the prepared pixels are written in shards under datasets/<id>/ as they are
// made (never the whole collection in memory). Any bad object ends it with one
// 4xx naming the object, and everything written so far is deleted: nothing is
// registered until every object has passed.
import { AppError, BadRequestError, LimitExceededError } from '../../errors.ts';
import type { S3Location, Storage } from '../../storage/s3-storage.ts';
import { listFolders, readManifest, type ImageEntry } from './entries.ts';
import { exampleBytes, indexKey } from './layout.ts';
import { withPreprocessDefaults, type ImageIndex, type ImagesSource, type StoredImagesSource } from './schema.ts';
import { decodeToShards } from './shard-pipeline.ts';

export interface ImageLimits {
  maxRows: number;
  maxBytes: number;
  maxClasses: number;
  /** MAX_IMAGE_PIXELS: the most pixels an image's header may claim. */
  maxPixels: number;
}

/** Where a registration stands, reported as it goes (the API shows it on GET and over SSE). A type, so it fits Prisma's JSON column as it is. */
export type RegistrationProgress = {
  phase: 'listing' | 'decoding' | 'finishing';
  /** Known once the source is listed. */
  objectsTotal: number | null;
  objectsDone: number;
  bytesRead: number;
  /** A CSV/NDJSON file's size: its progress is bytesRead of it. */
  bytesTotal?: number;
  /** Images (or rows) checked so far, per label in label order. */
  classCounts: Array<{ label: string; count: number }>;
};

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
/**
 * Objects fetched or decoded at once, across shard boundaries: enough to keep S3 GETs in flight while
 * libvips (its own threads) decodes others; each holds one object's bytes and pixels.
 */
const CONCURRENCY = 8;

async function readObject(e: ImageEntry, storage: Storage, maxBytes: number): Promise<Uint8Array> {
  return storage.getBytes(e.loc.key, e.loc.bucket, maxBytes, e.size).catch((err: unknown) => {
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
  const done = new Tally(labels, entries.length);
  report(done.progress('decoding'));
  let shards;
  try {
    shards = await decodeToShards(entries, prefix, prep, storage, {
      shardSize,
      concurrency: CONCURRENCY,
      maxPixels: limits.maxPixels,
      read: (e) => {
        aborted(opts.signal);
        return readObject(e, storage, limits.maxBytes);
      },
      onImage: (e, bytes) => {
        aborted(opts.signal);
        done.add(e.label, bytes);
        report(done.progress('decoding'));
      },
    });
    aborted(opts.signal);
    report(done.progress('finishing'));
    const classOf = new Map(labels.map((l, i) => [l, i] as const));
    const index: ImageIndex = { labels, classes: entries.map((e) => classOf.get(e.label)!), shardDigests: shards.digests };
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
    numShards: shards.digests.length,
    sizeHistogram: shards.histogram,
    thumbnails: shards.thumbnails,
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
