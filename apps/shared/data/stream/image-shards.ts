// A registered image dataset as a ShardSource: its shards hold pixels decoded
// and resized once, at registration, so reading one is a GET, never JPEG
// decoding on the training thread. A shard stays bytes while resident; each
// example is scaled straight into the batch that takes it.
import { createHash } from 'node:crypto';
import { BadRequestError, UnprocessableError } from '../../errors.ts';
import type { Storage } from '../../storage/s3-storage.ts';
import { channelsOf, featureShapeOf, readImageIndex, readShard } from '../images/read.ts';
import { exampleBytes } from '../images/layout.ts';
import { pixelScaler } from '../images/scaling.ts';
import type { Scaling, StoredImagesSource } from '../images/schema.ts';
import type { SplitSource } from './split.ts';

export interface ImageShardSource extends SplitSource {
  /** sha256 per shard of its bytes and preprocessing: a feature cache keys on content, not dataset id. */
  shardDigests: string[];
}

export async function imageShards(source: StoredImagesSource, storage: Storage, labelOrder: string[], scaling: Scaling = source.preprocess.scaling): Promise<ImageShardSource> {
  const index = await readImageIndex(source, storage);
  const position = new Map(labelOrder.map((l, i) => [l, i] as const));
  const toJob = index.labels.map((l) => {
    const c = position.get(l);
    if (c === undefined) throw new UnprocessableError('label_mismatch', `Label "${l}" is not one of the training labels`, { label: l });
    return c;
  });
  const n = index.classes.length;
  const shardSizes = Array.from({ length: source.numShards }, (_, s) => Math.min(source.shardSize, n - s * source.shardSize));
  const per = exampleBytes(source.preprocess);
  const classes = Int32Array.from(index.classes, (c) => toJob[c]);
  const scale = pixelScaler(channelsOf(source), scaling);
  return {
    classes,
    // The pixels (each shard's digest covers its bytes and preprocessing) and how they are scaled.
    digest: createHash('sha256').update(JSON.stringify({ shards: index.shardDigests, scaling })).digest('hex'),
    featureShape: featureShapeOf(source),
    featureSize: per,
    numExamples: n,
    shardSizes,
    shardDigests: index.shardDigests,
    async readShard(s) {
      const bytes = await readShard(source, storage, s);
      if (bytes.byteLength !== shardSizes[s] * per) {
        throw new BadRequestError('dataset_invalid', `Shard ${s} holds ${bytes.byteLength / per} examples, the index ${shardSizes[s]}`, { shard: s });
      }
      const first = s * source.shardSize;
      return { classes: classes.subarray(first, first + shardSizes[s]), copy: (j, out, at) => scale(bytes, j * per, per, out, at) };
    },
  };
}
