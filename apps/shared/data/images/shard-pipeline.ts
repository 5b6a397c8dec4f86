// Registration's decoding, pipelined: objects are fetched and decoded
// `concurrency` at a time straight across shard boundaries (S3 GETs of some
// overlap libvips decoding others), each image's pixels go into its slot of
// its shard's buffer, and a full shard is stored while the next ones are
// decoded. Memory is bounded: at most two shards' buffers (the one being
// stored and the one being filled) plus the objects in flight. Shards are
// stored in order, one at a time, so their digests follow the index.
import { createHash } from 'node:crypto';
import type { Storage } from '../../storage/s3-storage.ts';
import { decodeImage, thumbnail, type DecodedImage } from './decode.ts';
import type { ImageEntry } from './entries.ts';
import { exampleBytes, shardKey } from './layout.ts';
import type { ImagePreprocess, SizeBin, Thumbnail } from './schema.ts';

const MAX_THUMBNAILS = 12;
const SIZE_BINS = [32, 64, 128, 256, 512, 1024, 2048];

export interface PipelineOptions {
  shardSize: number;
  /** Objects fetched or decoded at once. */
  concurrency: number;
  maxPixels: number;
  /** Reads one object's bytes (limits and errors are the caller's). */
  read(e: ImageEntry): Promise<Uint8Array>;
  /** Told after each image is decoded; throwing (an abort) stops the pipeline. */
  onImage(e: ImageEntry, bytes: number): void;
}

export interface Shards {
  digests: string[];
  histogram: SizeBin[];
  thumbnails: Thumbnail[];
}

/** The first image of each label, in entry order, for the first MAX_THUMBNAILS labels: entry index → thumbnail number. */
function thumbnailPicks(entries: ImageEntry[]): Map<number, number> {
  const picks = new Map<number, number>();
  const labels = new Set<string>();
  for (let i = 0; i < entries.length && labels.size < MAX_THUMBNAILS; i++) {
    if (labels.has(entries[i].label)) continue;
    labels.add(entries[i].label);
    picks.set(i, picks.size);
  }
  return picks;
}

const deferred = () => {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // awaited by whoever needs it; a failure is reported once, by the pipeline
  return { promise, resolve, reject };
};

/** Decoded images into their slots of their shards' buffers; a full shard is stored, in shard order. */
class Assembler {
  readonly digests: string[];
  readonly histogram: SizeBin[] = SIZE_BINS.map((upTo) => ({ upTo, count: 0 }) as SizeBin).concat([{ upTo: null, count: 0 }]);
  /** stored[k] settles when shard k is in S3 (or the pipeline failed). */
  readonly stored: Array<ReturnType<typeof deferred>>;
  private readonly filling = new Map<number, { bytes: Buffer; left: number }>();
  /** The stores, one after another. */
  chain = Promise.resolve();

  constructor(
    private readonly n: number,
    private readonly shardSize: number,
    private readonly per: number,
    private readonly put: (k: number, bytes: Buffer) => Promise<string>,
  ) {
    const numShards = Math.ceil(n / shardSize);
    this.digests = new Array<string>(numShards);
    this.stored = Array.from({ length: numShards }, deferred);
  }

  place(i: number, image: DecodedImage): void {
    const k = Math.floor(i / this.shardSize);
    let f = this.filling.get(k);
    if (!f) {
      const size = Math.min(this.shardSize, this.n - k * this.shardSize);
      this.filling.set(k, (f = { bytes: Buffer.allocUnsafe(size * this.per), left: size }));
    }
    f.bytes.set(image.pixels, (i - k * this.shardSize) * this.per);
    this.histogram.find((b) => b.upTo === null || Math.max(image.width, image.height) <= b.upTo)!.count++;
    if (--f.left > 0) return;
    this.filling.delete(k);
    const bytes = f.bytes;
    this.chain = this.chain.then(async () => void (this.digests[k] = await this.put(k, bytes)));
    this.chain.then(this.stored[k].resolve, this.stored[k].reject);
  }

  fail(err: unknown): void {
    for (const d of this.stored) d.reject(err);
  }
}

/** Decodes every entry into shards under `prefix`; on a failure, waits until nothing is in flight, then throws. */
export async function decodeToShards(entries: ImageEntry[], prefix: string, prep: ImagePreprocess, storage: Storage, o: PipelineOptions): Promise<Shards> {
  const thumbs = thumbnailPicks(entries);
  const thumbnails = new Array<Thumbnail>(thumbs.size);
  const shards = new Assembler(entries.length, o.shardSize, exampleBytes(prep), async (k, bytes) => {
    const digest = createHash('sha256').update(JSON.stringify(prep)).update(bytes).digest('hex');
    await storage.put(shardKey(prefix, k), bytes);
    return digest;
  });
  let failure: unknown;
  let next = 0;
  const one = async (i: number) => {
    const k = Math.floor(i / o.shardSize);
    // At most two shards' pixels: this one's slot waits until the shard two back is stored.
    if (k >= 2) await shards.stored[k - 2].promise;
    const e = entries[i];
    const file = await o.read(e);
    const image = await decodeImage(file, e.uri, prep, o.maxPixels);
    const t = thumbs.get(i);
    if (t !== undefined) {
      const key = `${prefix}thumbs/${t}.png`;
      await storage.put(key, await thumbnail(file, o.maxPixels), 'image/png');
      thumbnails[t] = { label: e.label, key };
    }
    if (failure) return;
    o.onImage(e, file.byteLength);
    shards.place(i, image);
  };
  const run = async () => {
    while (failure === undefined && next < entries.length) {
      try {
        await one(next++);
      } catch (err) {
        failure ??= err;
        // Whoever waits for a shard that will never fill stops waiting.
        shards.fail(failure);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, entries.length) }, run));
  // A store that failed after the last worker ended (nothing waited on it) is still a failure.
  await shards.chain.catch((err: unknown) => void (failure ??= err));
  if (failure !== undefined) throw failure;
  return { digests: shards.digests, histogram: shards.histogram, thumbnails };
}
