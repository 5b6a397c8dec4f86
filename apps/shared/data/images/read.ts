// Reads a registered image dataset back: its index, and its shards of prepared
// pixels, scaled as the source (or a job) asks.
import { BadRequestError } from '../../errors.ts';
import type { Storage } from '../../storage/s3-storage.ts';
import { exampleBytes, indexKey, shardKey } from './layout.ts';
import { scalePixels } from './scaling.ts';
import type { ImageIndex, Scaling, StoredImagesSource } from './schema.ts';

export async function readImageIndex(source: StoredImagesSource, storage: Storage): Promise<ImageIndex> {
  return JSON.parse(Buffer.from(await storage.getBytes(indexKey(source.prefix))).toString('utf8')) as ImageIndex;
}

export async function readShard(source: StoredImagesSource, storage: Storage, shard: number): Promise<Uint8Array> {
  const bytes = await storage.getBytes(shardKey(source.prefix, shard));
  const per = exampleBytes(source.preprocess);
  // A shard holds shardSize examples, the last one fewer; anything else was not written by us.
  if (bytes.byteLength % per !== 0 || bytes.byteLength / per > source.shardSize) {
    throw new BadRequestError('dataset_invalid', `Shard ${shard} of the dataset has ${bytes.byteLength} bytes, not whole examples of ${per}`, { shard });
  }
  return bytes;
}

export const channelsOf = (s: StoredImagesSource) => (s.preprocess.channels === 'grayscale' ? 1 : 3);
export const featureShapeOf = (s: StoredImagesSource) => [s.preprocess.size[0], s.preprocess.size[1], channelsOf(s)];

/** The whole dataset as floats (small datasets; the stream reads large ones a batch at a time). */
export async function readAllImages(source: StoredImagesSource, storage: Storage, scaling: Scaling = source.preprocess.scaling) {
  const index = await readImageIndex(source, storage);
  const per = exampleBytes(source.preprocess);
  const features = new Float32Array(index.classes.length * per);
  let offset = 0;
  for (let s = 0; s < source.numShards; s++) {
    const shard = await readShard(source, storage, s);
    scalePixels(shard, channelsOf(source), scaling, features, offset);
    offset += shard.byteLength;
  }
  if (offset !== features.length) throw new BadRequestError('dataset_invalid', `The dataset's shards hold ${offset / per} examples, its index ${index.classes.length}`, {});
  return { features, featureShape: featureShapeOf(source), labels: index.classes.map((c) => index.labels[c]) };
}
