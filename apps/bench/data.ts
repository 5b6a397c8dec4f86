// `npm run bench:data`: an image dataset registered from S3 and trained on
// through the batch stream. MNIST digits are written as JPEGs upscaled to
// size×size RGB into an embedded S3 server, registered (decode rate), then a
// small conv net is trained on streamed batches for a few epochs (training
// rate, and the fraction of the epoch spent waiting for data). Peak RSS of
// this one process is sampled throughout. Medians over the epochs, with min-max.
//
//   npm run bench:data -- [--images 2000] [--size 96] [--epochs 3] [--batch 32]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../shared/config.ts';
import { loadMnist } from '../shared/data/mnist.ts';
import { registerDataset } from '../shared/data/dataset-source.ts';
import type { StoredImagesSource } from '../shared/data/images/schema.ts';
import { epochBatches, type StreamStats } from '../shared/data/stream/batches.ts';
import { imageShards } from '../shared/data/stream/image-shards.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { startEmbeddedS3 } from '../shared/storage/embedded-s3.ts';
import { Storage } from '../shared/storage/s3-storage.ts';

const { values } = parseArgs({ options: { images: { type: 'string', default: '2000' }, size: { type: 'string', default: '96' }, epochs: { type: 'string', default: '3' }, batch: { type: 'string', default: '32' } } });
const N = Number(values.images);
const SIZE = Number(values.size);
const BATCH = Number(values.batch);
const MiB = 2 ** 20;

let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
const sampler = setInterval(sample, 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[], d = 1) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;

const config = loadConfig();
const backend = await initBackend(config.tfBackend, config);
const dir = await mkdtemp(path.join(tmpdir(), 'bench-data-'));
const s3 = await startEmbeddedS3({ dir, port: 0 });
const storage = new Storage({ ...config.s3, bucket: 'bench-data', endpoint: s3.endpoint });
await storage.ensureBucket();

try {
  const { pixels, digits } = await loadMnist({ split: 'train', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], count: N });
  for (let i = 0; i < N; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, N - i) }, async (_, k) => {
      const j = i + k;
      const gray = Buffer.from(Uint8Array.from(pixels.subarray(j * 784, (j + 1) * 784), (v) => Math.round(v * 255)));
      const jpeg = await sharp(gray, { raw: { width: 28, height: 28, channels: 1 } }).resize(SIZE, SIZE).toColourspace('srgb').jpeg({ quality: 90 }).toBuffer();
      await storage.put(`uploads/bench/${digits[j]}/${String(j).padStart(6, '0')}.jpg`, jpeg);
    }));
  }
  peak = 0;
  const t0 = performance.now();
  const reg = await registerDataset('00000000-0000-4000-8000-0000000da7a0', { type: 'images', layout: 'folders', uri: 's3://bench-data/uploads/bench/', preprocess: { size: [SIZE, SIZE], scaling: 'symmetric' } }, storage);
  const regS = (performance.now() - t0) / 1000;
  const regPeak = peak;

  const labels = reg.labels;
  const src = await imageShards(reg.source as StoredImagesSource, storage, labels);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [SIZE, SIZE, 3], filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: labels.length, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  peak = 0;
  const rates: number[] = [];
  const waits: number[] = [];
  for (let epoch = 0; epoch < Number(values.epochs); epoch++) {
    const stats: StreamStats = { waitMs: 0, shardsRead: 0, maxResidentShards: 0 };
    const t = performance.now();
    for await (const b of epochBatches(src, { batchSize: BATCH, seed: 1, epoch }, stats)) {
      const x = tf.tensor4d(b.features, [b.size, SIZE, SIZE, 3]);
      const y = tf.oneHot(tf.tensor1d(b.classes, 'int32'), labels.length).toFloat();
      await model.trainOnBatch(x, y);
      tf.dispose([x, y]);
    }
    const ms = performance.now() - t;
    rates.push((N / ms) * 1000);
    waits.push((stats.waitMs / ms) * 100);
  }
  sample();
  const decodedMiB = (N * SIZE * SIZE * 3 * 4) / MiB;
  console.log(`backend ${backend.kind}; ${N} JPEGs ${SIZE}×${SIZE} RGB, ${src.shardSizes.length} shards of ≤${src.shardSizes[0]}`);
  console.log(`registration: ${regS.toFixed(1)} s, ${(N / regS).toFixed(0)} images/s decoded and stored; peak RSS ${(regPeak / MiB).toFixed(0)} MiB`);
  console.log(`training (${values.epochs} epochs, batch ${BATCH}): ${spread(rates, 0)} examples/s; waiting for data ${spread(waits)} % of the epoch; peak RSS ${(peak / MiB).toFixed(0)} MiB`);
  console.log(`decoded float32 size of the dataset: ${decodedMiB.toFixed(0)} MiB (${(decodedMiB / (peak / MiB)).toFixed(2)}× the training peak RSS)`);
} finally {
  clearInterval(sampler);
  storage.destroy();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
}
