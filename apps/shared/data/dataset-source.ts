// Where a dataset's examples come from, how registration profiles them, and
// how the worker reads them back as class indices in a job's label order.
import { Type, type Static } from '@sinclair/typebox';
import { BadRequestError, LimitExceededError, UnprocessableError } from '../errors.ts';
import { parseS3Uri, type S3Location, type Storage } from '../storage/s3-storage.ts';
import { loadMnist, MNIST_SHAPE } from './mnist.ts';
import { PLAIN_TEXT, PlainText } from '../jobs/spec.ts';
import { checkDatasetSize, parseTabular, type TabularLimits } from './tabular.ts';
import { ImagesSourceSchema, type StoredImagesSource } from './images/schema.ts';
import { readAllImages } from './images/read.ts';
import type { RegisterOptions } from './images/register.ts';
import { registerTabular, type TabularRegisterOptions } from './tabular-register.ts';
import type { TabularShardsSource } from './stream/tabular-shards.ts';

const ColumnName = PlainText(128);

export const MnistSourceSchema = Type.Object(
  {
    type: Type.Literal('mnist'),
    // No schema defaults inside a union (ajv ignores them there); see withDefaults.
    split: Type.Optional(Type.Union([Type.Literal('train'), Type.Literal('test')], { description: 'default train' })),
    classes: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 9 }), { minItems: 1, maxItems: 10, uniqueItems: true, description: 'default: all ten digits' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
  },
  { additionalProperties: false },
);

export const S3SourceSchema = Type.Object(
  {
    type: Type.Literal('s3'),
    uri: PlainText(1024, { minLength: 6, pattern: PLAIN_TEXT.replace('^', '^s3://'), description: 's3://bucket/key: in S3_BUCKET, under your upload area uploads/<tenantId>/ (POST /v1/uploads), or in a bucket of S3_SOURCE_BUCKETS' }),
    format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')]),
    labelColumn: ColumnName,
    featureColumns: Type.Optional(Type.Array(ColumnName, { minItems: 1, maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

export const DatasetSourceSchema = Type.Union([MnistSourceSchema, S3SourceSchema, ImagesSourceSchema]);
export type DatasetSource = Static<typeof DatasetSourceSchema>;

type MnistSource = Required<Pick<Static<typeof MnistSourceSchema>, 'split' | 'classes'>> & Static<typeof MnistSourceSchema>;

/** A CSV/NDJSON file snapshotted whole, as registration did before it streamed; still read (in memory). */
export type SnapshotTabularSource = Static<typeof S3SourceSchema> & { objectKey: string; featureColumns: string[] };

/** The stored source: an S3 file is kept in our bucket (as shards) so a job always reads what was validated. */
export type StoredSource = MnistSource | SnapshotTabularSource | TabularShardsSource | StoredImagesSource;

/** A CSV/NDJSON dataset registered as float32 shards (not a whole-file snapshot). */
export const isTabularShards = (s: StoredSource): s is TabularShardsSource => s.type === 's3' && 'prefix' in s;

export interface DatasetProfile {
  source: StoredSource;
  featureShape: number[];
  numExamples: number;
  labels: string[];
  classCounts: Array<{ label: string; count: number }>;
}

export interface Examples {
  /** Row-major features, featureShape per example. */
  features: Float32Array;
  featureShape: number[];
  labels: string[];
}

export function sortLabels(labels: Iterable<string>): string[] {
  const unique = [...new Set(labels)];
  const numeric = unique.every((l) => l !== '' && Number.isFinite(Number(l)));
  return numeric ? unique.sort((a, b) => Number(a) - Number(b)) : unique.sort();
}

function profile(source: StoredSource, examples: Examples, maxClasses: number): DatasetProfile {
  if (examples.labels.length === 0) throw new BadRequestError('dataset_empty', 'The dataset has no examples');
  // A Map and a list, never object keys: labels such as "constructor" or "__proto__" are data.
  const counts = new Map<string, number>();
  for (const l of examples.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  // Every read of the dataset lists each class with its count; 200,000 of them made each GET 7.8 MB.
  if (counts.size > maxClasses) {
    throw new LimitExceededError('dataset_too_many_classes', `The dataset has ${counts.size} distinct labels`, 413, 'MAX_DATASET_CLASSES', maxClasses, counts.size);
  }
  const labels = sortLabels(examples.labels);
  const classCounts = labels.map((label) => ({ label, count: counts.get(label)! }));
  return {
    source,
    featureShape: examples.featureShape,
    numExamples: examples.labels.length,
    labels,
    classCounts,
  };
}

async function readExamples(source: StoredSource, storage: Storage): Promise<Examples> {
  if (source.type === 'mnist') {
    const { pixels, digits } = await loadMnist(source);
    return { features: pixels, featureShape: MNIST_SHAPE, labels: Array.from(digits, String) };
  }
  if (source.type === 'images') return readAllImages(source, storage);
  if (isTabularShards(source)) throw new Error('A sharded tabular dataset is read through tabularShards');
  const bytes = await storage.getBytes(source.objectKey);
  const data = parseTabular(bytes, source);
  return { features: data.features, featureShape: [data.featureColumns.length], labels: data.labels };
}

/** MAX_DATASET_BYTES, MAX_DATASET_ROWS, MAX_DATASET_FEATURES, MAX_DATASET_CLASSES and MAX_IMAGE_PIXELS. */
export interface DatasetLimits extends TabularLimits {
  maxBytes: number;
  maxClasses: number;
  maxPixels?: number;
}

const NO_LIMITS: DatasetLimits = { maxBytes: Infinity, maxRows: Infinity, maxFeatures: Infinity, maxClasses: Infinity };
/** sharp's own default: 0x3FFF × 0x3FFF. */
const DEFAULT_MAX_PIXELS = 268_402_689;

/**
 * Validates a new dataset and records its shape, labels and class counts. `beforeStore` sees the
 * profile before the snapshot is written, and may refuse it by throwing.
 */
export async function registerDataset(
  id: string,
  source: DatasetSource,
  storage: Storage,
  limits: DatasetLimits = NO_LIMITS,
  beforeStore: (p: DatasetProfile) => void = () => undefined,
  /** Where an image source (a prefix, a manifest and each of its uris) may be read from. */
  checkUri: (uri: string) => S3Location = parseS3Uri,
  /** Image sources: progress as it goes, and an abort that stops it (leaving nothing behind). */
  opts: RegisterOptions = {},
): Promise<DatasetProfile> {
  if (source.type === 'images') {
    // Loaded here only: sharp (libvips) stays out of the worker and of processes that never register images.
    const { registerImages } = await import('./images/register.ts');
    const result = await registerImages(id, source, storage, { ...limits, maxPixels: limits.maxPixels ?? DEFAULT_MAX_PIXELS }, checkUri, opts);
    return checkWritten(result, result.source.prefix, beforeStore, storage);
  }
  if (source.type === 'mnist') {
    const stored: MnistSource = { ...source, split: source.split ?? 'train', classes: [...(source.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])].sort((a, b) => a - b) };
    const examples = await readExamples(stored, storage);
    checkDatasetSize(examples.labels.length, examples.featureShape.reduce((a, b) => a * b, 1), limits);
    const result = profile(stored, examples, limits.maxClasses);
    beforeStore(result);
    return result;
  }
  const result = await registerTabular(id, source, storage, limits, opts as TabularRegisterOptions);
  return checkWritten(result, result.source.prefix, beforeStore, storage);
}

/** The caller's check on a profile whose objects are written already: refused, they are deleted. */
async function checkWritten<P extends DatasetProfile>(result: P, prefix: string, beforeStore: (p: DatasetProfile) => void, storage: Storage): Promise<P> {
  try {
    beforeStore(result);
  } catch (err) {
    await storage.deletePrefix(prefix).catch(() => undefined);
    throw err;
  }
  return result;
}

export interface LabeledExamples {
  features: Float32Array;
  featureShape: number[];
  /** Class index of each example in the job's label order. */
  classes: Int32Array;
}

export async function loadLabeledExamples(source: StoredSource, storage: Storage, labelOrder: string[]): Promise<LabeledExamples> {
  const ex = await readExamples(source, storage);
  const index = new Map(labelOrder.map((l, i) => [l, i] as const));
  const classes = new Int32Array(ex.labels.length);
  ex.labels.forEach((l, i) => {
    const c = index.get(l);
    if (c === undefined) throw new UnprocessableError('label_mismatch', `Label "${l}" is not one of the training labels`, { label: l });
    classes[i] = c;
  });
  return { features: ex.features, featureShape: ex.featureShape, classes };
}
