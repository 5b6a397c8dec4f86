// Registration's decoding pipeline: objects finish out of order across shard
// boundaries, yet each shard holds its images in entry order; no more than two
// shards' pixels are held (an object of shard k is read only after shard k-2
// is stored); thumbnails are the first image of each label; and a bad object
// stops the pipeline only once nothing it started is still writing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeToShards, type PipelineOptions } from '../apps/shared/data/images/shard-pipeline.ts';
import type { ImageEntry } from '../apps/shared/data/images/entries.ts';
import { shardKey } from '../apps/shared/data/images/layout.ts';
import { withPreprocessDefaults } from '../apps/shared/data/images/schema.ts';
import type { Storage } from '../apps/shared/storage/s3-storage.ts';
import { solid } from './helpers/images.ts';

const prep = withPreprocessDefaults({ size: [4, 4], channels: 'grayscale' });
const N = 23;
const SHARD = 4;
// Image i is a solid gray of value 10 × i: each decoded 4×4 gray image is 16 bytes of 10 × i.
const files = Promise.all(Array.from({ length: N }, (_, i) => solid(8, 8, [10 * i, 10 * i, 10 * i]).png().toBuffer()));
const entries: ImageEntry[] = Array.from({ length: N }, (_, i) => ({ uri: `s3://b/${i}.png`, loc: { bucket: 'b', key: `${i}.png` }, label: `c${i % 3}` }));

function fakeStorage() {
  const events: string[] = [];
  const objects = new Map<string, Uint8Array>();
  const storage = {
    async put(key: string, body: Uint8Array) {
      await new Promise((r) => setTimeout(r, 5));
      objects.set(key, body);
      events.push(`put ${key}`);
    },
  } as unknown as Storage;
  return { storage, events, objects };
}

const options = async (events: string[], bad?: number): Promise<PipelineOptions> => {
  const bytes = await files;
  return {
    shardSize: SHARD,
    concurrency: 6,
    maxPixels: 1e6,
    // Later objects of a group of 6 come back first: completion is out of order.
    async read(e) {
      const i = Number(e.loc.key.split('.')[0]);
      events.push(`read ${i}`);
      await new Promise((r) => setTimeout(r, 2 + 3 * (5 - (i % 6))));
      events.push(`got ${i}`);
      return i === bad ? new Uint8Array([1, 2, 3]) : bytes[i];
    },
    onImage: () => undefined,
  };
};

describe('the registration decoding pipeline', () => {
  it('stores each shard in entry order, holds at most two shards, picks the first image of each label as its thumbnail', async () => {
    const { storage, events, objects } = fakeStorage();
    const out = await decodeToShards(entries, 'p/', prep, storage, await options(events));
    assert.equal(out.digests.length, Math.ceil(N / SHARD));
    for (let k = 0; k < out.digests.length; k++) {
      const shard = objects.get(shardKey('p/', k))!;
      const want = Array.from({ length: Math.min(SHARD, N - k * SHARD) }, (_, j) => Array<number>(16).fill(10 * (k * SHARD + j))).flat();
      assert.deepEqual(Array.from(shard), want, `shard ${k} holds its images in entry order`);
    }
    for (let i = 2 * SHARD; i < N; i++) {
      const k = Math.floor(i / SHARD);
      assert.ok(events.indexOf(`put ${shardKey('p/', k - 2)}`) < events.indexOf(`read ${i}`), `object ${i} (shard ${k}) is read after shard ${k - 2} is stored`);
    }
    assert.deepEqual(out.thumbnails.map((t) => t.label), ['c0', 'c1', 'c2']);
    assert.deepEqual(out.thumbnails.map((t) => t.key), ['p/thumbs/0.png', 'p/thumbs/1.png', 'p/thumbs/2.png']);
    assert.equal(out.histogram.reduce((s, b) => s + b.count, 0), N);
  });

  it('a bad object ends it with its error, after every write it started has finished', async () => {
    const { storage, events } = fakeStorage();
    await assert.rejects(decodeToShards(entries, 'p/', prep, storage, await options(events, 13)), (err: Error & { code?: string }) => err.code === 'image_invalid' && err.message.includes('13.png'));
    const settled = events.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.length, settled, 'nothing is read or written after it rejected');
    assert.ok(!events.includes(`put ${shardKey('p/', 3)}`), 'the shard of the bad object is never stored');
  });
});
