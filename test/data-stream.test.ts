// The batch stream: every example once an epoch, the same batches for the same
// seed and epoch, an exact restart at any batch, memory bounded by the window
// and prefetch, reads issued ahead of the consumer; and a registered image
// dataset streamed from the test's S3 server gives the same examples as the
// whole-dataset read.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { epochBatches, type Batch, type ShardSource, type StreamStats } from '../apps/shared/data/stream/batches.ts';
import { imageShards } from '../apps/shared/data/stream/image-shards.ts';
import { loadLabeledExamples, registerDataset, type StoredSource } from '../apps/shared/data/dataset-source.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { encode, mnistDigits } from './helpers/images.ts';

/** Example i has features [i, -i] and class i % 3; reads are logged and take `delayMs`. */
function memorySource(sizes: number[], delayMs = 0) {
  const log: Array<{ shard: number; at: number }> = [];
  const firsts = sizes.map((_, s) => sizes.slice(0, s).reduce((a, b) => a + b, 0));
  const src: ShardSource = {
    featureSize: 2,
    shardSizes: sizes,
    async readShard(s) {
      log.push({ shard: s, at: performance.now() });
      await new Promise((r) => setTimeout(r, delayMs));
      const ids = Array.from({ length: sizes[s] }, (_, i) => firsts[s] + i);
      return { features: Float32Array.from(ids.flatMap((i) => [i, -i])), classes: Int32Array.from(ids, (i) => i % 3) };
    },
  };
  return { src, log };
}

async function collect(gen: AsyncGenerator<Batch>) {
  const out: Array<{ index: number; ids: number[]; classes: number[] }> = [];
  for await (const b of gen) out.push({ index: b.index, ids: Array.from({ length: b.size }, (_, i) => b.features[i * 2]), classes: Array.from(b.classes) });
  return out;
}

describe('batch stream', () => {
  const sizes = [7, 7, 7, 7, 7, 7, 3]; // 45 examples
  const opts = { batchSize: 4, seed: 42, window: 2, prefetch: 1 };

  it('visits every example once an epoch, with its own class, in a seeded order that changes per epoch', async () => {
    const e0 = await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 0 }));
    const ids = e0.flatMap((b) => b.ids);
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 45 }, (_, i) => i));
    e0.forEach((b) => b.ids.forEach((id, i) => assert.equal(b.classes[i], id % 3)));
    assert.deepEqual(e0.map((b) => b.index), Array.from({ length: 12 }, (_, i) => i));
    assert.notDeepEqual(ids, Array.from({ length: 45 }, (_, i) => i), 'shuffled');
    assert.deepEqual(await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 0 })), e0, 'same seed and epoch, same batches');
    assert.notDeepEqual((await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 1 }))).flatMap((b) => b.ids), ids, 'another epoch, another order');
    assert.notDeepEqual((await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 0, seed: 43 }))).flatMap((b) => b.ids), ids, 'another seed, another order');
    const plain = await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 0, shuffle: false }));
    assert.deepEqual(plain.flatMap((b) => b.ids), Array.from({ length: 45 }, (_, i) => i), 'unshuffled: storage order');
  });

  it('restarts exactly at any batch, without reading the shards of the batches skipped', async () => {
    const full = await collect(epochBatches(memorySource(sizes).src, { ...opts, epoch: 3 }));
    for (const start of [1, 5, 8, 11]) {
      const { src, log } = memorySource(sizes);
      assert.deepEqual(await collect(epochBatches(src, { ...opts, epoch: 3, startBatch: start })), full.slice(start), `from batch ${start}`);
      if (start === 11) assert.ok(log.length < sizes.length, `only the last windows are read: ${log.length} shards`);
    }
  });

  it('by default reads the whole next window while this one is consumed', async () => {
    const { src, log } = memorySource(sizes);
    const gen = epochBatches(src, { batchSize: 4, seed: 42, epoch: 0, window: 3 });
    await gen.next();
    assert.equal(log.length, 6, 'this window and the next were requested together');
    await gen.return(undefined);
  });

  it('holds at most window + prefetch shards, and reads the next ones before they are asked for', async () => {
    const { src, log } = memorySource(sizes, 30);
    const stats: StreamStats = { waitMs: 0, shardsRead: 0, maxResidentShards: 0 };
    const gen = epochBatches(src, { ...opts, epoch: 0 }, stats);
    await gen.next(); // the first window (2 shards) and one prefetched
    assert.equal(log.length, 3, 'first window and one shard ahead were requested together');
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 60)); // the consumer trains for a while
    for (let i = 0; i < 3; i++) await gen.next(); // still in window 1 (14 examples: batches 0-2)
    const waitedBefore = stats.waitMs;
    await gen.next(); // batch 3 needs window 2, whose first shard was prefetched during the "training"
    assert.ok(log[2].at < t, 'the prefetched read started before the consumer needed it');
    for await (const _ of gen);
    assert.ok(stats.maxResidentShards <= 3, `resident shards ${stats.maxResidentShards}`);
    assert.equal(stats.shardsRead, sizes.length);
    assert.ok(stats.waitMs >= waitedBefore);
  });
});

describe('an image dataset streamed from S3', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h?.close());

  it('gives the same examples as the whole-dataset read, batch by batch, the same for the same seed', async () => {
    const digits = await mnistDigits([2, 4, 9], 40);
    await Promise.all(digits.map(async (d, i) => h.storage.put(`${h.uploads}s/${d.label}/${i}.png`, await encode.png(d))));
    // 128×128 RGB: 49152 bytes an example, 85 a shard (4 MiB): 120 images make 2 shards.
    const reg = await registerDataset('00000000-0000-4000-8000-00000000beef', { type: 'images', layout: 'folders', uri: `s3://${h.storage.bucket}/${h.uploads}s/`, preprocess: { size: [128, 128], scaling: 'symmetric' } }, h.storage);
    const labels = ['9', '4', '2']; // a job's own label order
    const whole = await loadLabeledExamples(reg.source as StoredSource, h.storage, labels);
    const src = await imageShards(reg.source as never, h.storage, labels);
    assert.deepEqual(src.shardSizes, [85, 35]);
    assert.equal(src.shardDigests.length, 2);
    const f = src.featureSize;
    // Each example is found in the whole read by its exact floats.
    const key = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    const byKey = new Map<string, number>();
    for (let i = 0; i < 120; i++) byKey.set(key(whole.features.subarray(i * f, (i + 1) * f)), whole.classes[i]);
    const run = async () => {
      const seen: string[] = [];
      for await (const b of epochBatches(src, { batchSize: 16, seed: 7, epoch: 0, window: 1, prefetch: 1 })) {
        for (let i = 0; i < b.size; i++) {
          const k = key(b.features.subarray(i * f, (i + 1) * f));
          assert.equal(byKey.get(k), b.classes[i], 'the example comes with its class');
          seen.push(k);
        }
      }
      return seen;
    };
    const first = await run();
    assert.equal(new Set(first).size, byKey.size, 'every distinct example once');
    assert.equal(first.length, 120);
    assert.deepEqual(await run(), first, 'same seed, same order');
  });
});
