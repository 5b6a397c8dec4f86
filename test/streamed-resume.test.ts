// Streamed data: training read from shards (block-shuffled, prefetched) that a
// pause interrupts mid-epoch and a fresh process resumes from the checkpoint's
// (epoch, batch) ends with the weights of an uninterrupted run, bit for bit,
// with dropout and augmentation in play (both drawn per example index).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../apps/shared/ml/tf.ts';
import type { LayerSpec } from '../apps/shared/jobs/spec.ts';
import { exampleWriter } from '../apps/shared/data/stream/batches.ts';
import { memorySource, splitSide } from '../apps/shared/data/stream/split.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { augmenter } from '../apps/worker/src/pipeline/augment.ts';
import { disposeParts, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { mapSides, mapSplit, streamSplit } from '../apps/worker/src/pipeline/splits.ts';
import { train, type EpochResult, type OptimizerState, type ResumeFrom, type TrainPoint } from '../apps/worker/src/pipeline/train.ts';
import { initTestBackend } from './helpers/backend.ts';
import { hp } from './helpers/toy.ts';

const labels = ['a', 'b', 'c'];
const NET: LayerSpec[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' },
  { type: 'flatten', name: 'flat' },
  { type: 'dense', units: 8, activation: 'relu', name: 'hidden' },
  { type: 'dropout', rate: 0.5, name: 'drop' },
  { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
];
const HP = hp({ epochs: 3, batchSize: 10, optimizer: 'adam', learningRate: 0.01, seed: 7, augmentation: { horizontalFlip: true, crop: 0.2, rotation: 10, brightness: 0.1, contrast: 0.1 } });
const augment = augmenter(HP.augmentation!, HP.seed);

/** 8x8 images, one bright pixel per class, in shards of 9 (uneven against batches of 10). */
function streamed(n = 95) {
  const classes = Int32Array.from({ length: n }, (_, i) => i % 3);
  const features = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 64; p++) features[i * 64 + p] = ((i * 31 + p * 17) % 50) / 100;
    features[i * 64 + classes[i] * 9] += 1;
  }
  return streamSplit(memorySource(features, [8, 8, 1], classes, 'toy', 9), labels.length);
}

const fresh = () => withSeededRandom(HP.seed, async () => buildModel([8, 8, 1], NET, 3));
const weights = (p: ModelParts) => p.model.getWeights().map((w) => Array.from(w.dataSync()));
const copyLayers = (p: ModelParts) => p.model.layers.map((l) => l.getWeights().map((w) => w.clone()));

describe('a streamed job resumes exactly', () => {
  before(async () => {
    await initTestBackend();
  });

  it('paused mid-epoch and resumed from (epoch, batch) in a fresh model, it ends with the uninterrupted weights', async () => {
    const whole = await fresh();
    const full = await withSeededRandom(HP.seed, () => train(whole, { train: streamed() }, { hp: HP, labels, augment }, { shouldStop: () => false, onEpochEnd: async () => undefined }));
    assert.equal(full.epochs.length, 3);
    assert.ok(full.epochs[2].loss < full.epochs[0].loss, `it learns: ${full.epochs.map((e) => e.loss)}`);

    // Paused at batch 4 of the second epoch (of 10): weights, optimizer state and the finished epochs are kept.
    const first = await fresh();
    const history: EpochResult[] = [];
    const byEpoch = new Map<number, Tensor[][]>();
    let point: TrainPoint | undefined;
    let optimizers: OptimizerState | undefined;
    let saved: Tensor[][] | undefined;
    let batches = 0;
    await withSeededRandom(HP.seed, () => train(first, { train: streamed() }, { hp: HP, labels, augment }, {
      shouldStop: () => (++batches > 14 ? 'pause' : false),
      onEpochEnd: async (r) => {
        history.push(r);
        byEpoch.set(r.epoch, copyLayers(first));
      },
      onInterrupt: async (p, opt) => {
        point = p;
        optimizers = (await opt()).map((slots) => slots.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
        saved = copyLayers(first);
      },
    }));
    assert.deepEqual(point && { epoch: point.epoch, batch: point.batch }, { epoch: 1, batch: 4 });

    const second = await fresh();
    second.model.layers.forEach((l, i) => l.setWeights(saved![i]));
    const resume: ResumeFrom = { ...point!, optimizers: optimizers!, history, epochWeights: async (e) => byEpoch.get(e)! };
    const resumed = await withSeededRandom(HP.seed, () => train(second, { train: streamed() }, { hp: HP, labels, augment, resume }, { shouldStop: () => false, onEpochEnd: async () => undefined }));
    assert.deepEqual(weights(second), weights(whole), 'bit for bit');
    assert.deepEqual(resumed.epochs.map((e) => e.loss), full.epochs.map((e) => e.loss));
    tf.dispose([...(saved ?? []).flat(), ...[...byEpoch.values()].flat(2), ...(optimizers ?? []).flat().map((w) => w.tensor)]);
    [whole, first, second].forEach(disposeParts);
  });

  it('augmentation draws from (seed, epoch, example): an example changes the same way in any batch, and differently per epoch', async () => {
    const x = tf.randomUniform([6, 8, 8, 3], 0, 1, 'float32', 3);
    const ids = Int32Array.from([10, 11, 12, 13, 14, 15]);
    const rows = (t: tf.Tensor, i: number) => Array.from(t.slice(i, 1).dataSync());
    const a = augment(x, ids, 0);
    // The same examples in another order and company: example 12 is now first.
    const perm = [2, 0, 5];
    const xb = tf.gather(x, perm);
    const b = augment(xb, Int32Array.from(perm, (i) => ids[i]), 0);
    assert.deepEqual(rows(b, 0), rows(a, 2), 'example 12, augmented alike wherever it sits');
    assert.notDeepEqual(rows(augment(x, ids, 1), 2), rows(a, 2), 'another epoch, another draw');
    assert.notDeepEqual(rows(a, 2), rows(x, 2), 'it changed the image');
    tf.dispose([x, a, xb, b]);
  });
});

describe('a seeded validation split of a streamed dataset', () => {
  /** Example i has the single feature i. */
  const source = (n: number) => memorySource(Float32Array.from({ length: n }, (_, i) => i), [1], Int32Array.from({ length: n }, (_, i) => i % 3), 'ids', 64);
  const ids = async (src: ReturnType<typeof source>) => {
    const out: number[] = [];
    for (let s = 0; s < src.shardSizes.length; s++) {
      const d = await src.readShard(s);
      assert.equal(d.classes.length, src.shardSizes[s], 'the shard sizes are known before reading');
      const write = exampleWriter(d, 1);
      const one = new Float32Array(1);
      for (let j = 0; j < d.classes.length; j++) {
        write(j, one, 0);
        out.push(one[0]);
      }
    }
    return out;
  };

  it('is disjoint, covers every example, is the same for the same seed and another for another seed', async () => {
    const all = source(1000);
    const train = await ids(splitSide(all, 5, 0.2, 'train'));
    const val = await ids(splitSide(all, 5, 0.2, 'validation'));
    assert.deepEqual([...train, ...val].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i), 'disjoint and complete');
    assert.ok(val.length > 150 && val.length < 250, `about a fifth held out: ${val.length}`);
    assert.equal(splitSide(all, 5, 0.2, 'validation').numExamples, val.length);
    assert.deepEqual(await ids(splitSide(all, 5, 0.2, 'validation')), val, 'same seed, same split');
    assert.notDeepEqual(await ids(splitSide(all, 6, 0.2, 'validation')), val, 'another seed, another split');
    assert.deepEqual(Array.from(splitSide(all, 5, 0.2, 'validation').classes), val.map((i) => i % 3), 'classes follow their examples');
  });

  it('a feature pass over both sides reads each shard once and gives each side what a pass of its own gives', async () => {
    await initTestBackend();
    const all = source(1000);
    let reads = 0;
    const counted = { ...all, readShard: (s: number) => (reads++, all.readShard(s)) };
    const sides = (seed: number) => ['train', 'validation'].map((side) => streamSplit(splitSide(counted, seed, 0.2, side as 'train'), 3));
    const fn = async (x: Tensor) => tf.tidy(() => tf.concat([x.mul(2), x.add(1)], 1));
    const [train, validation] = sides(5);
    const alone = [await mapSplit(train, fn), await mapSplit(validation, fn)];
    assert.equal(reads, 2 * all.shardSizes.length, 'a pass a side reads every shard twice');
    reads = 0;
    const both = await mapSides(train, validation, fn);
    assert.ok(both);
    assert.equal(reads, all.shardSizes.length, 'one pass: each shard once');
    assert.deepEqual(both.train.shape, [train.numExamples, 2]);
    assert.deepEqual(Array.from(both.train.dataSync()), Array.from(alone[0].dataSync()), 'train side');
    assert.deepEqual(Array.from(both.validation.dataSync()), Array.from(alone[1].dataSync()), 'validation side');
    assert.equal(await mapSides(train, sides(6)[1], fn), null, 'sides of another split are not mapped together');
    tf.dispose([...alone, both.train, both.validation]);
  });
});
