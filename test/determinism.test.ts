// A seeded job trains the same model whatever TRAIN_THREADS is: dropout masks
// are a function of (seed, epoch, example index), so 1, 2 and 3 threads, with
// shards of uneven size, give the same weights up to float summation order.
// The one exception, batch norm that trains (statistics per shard), is
// asserted for what does hold.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { initBackend, tf } from '../apps/shared/ml/tf.ts';
import type { LayerSpec } from '../apps/shared/jobs/spec.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { withExampleMasks } from '../apps/worker/src/pipeline/dropout-masks.ts';
import { disposeParts, freeze, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { train, type TrainOptions } from '../apps/worker/src/pipeline/train.ts';
import { TrainingPeers } from '../apps/worker/src/parallel/training-peers.ts';
import { disposeData, hp, images, noHooks } from './helpers/toy.ts';

const labels = ['a', 'b', 'c'];
// Float summation: a batch's gradient is the size-weighted mean of per-shard means, summed in
// another order than one thread's mean. Measured gaps are ~1.5e-8; 1e-6 (relative above 1) leaves room.
const TOLERANCE = 1e-6;
const pools = new Map<number, TrainingPeers>();

const conv = (name: string): LayerSpec => ({ type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu', name });
const DROPOUT_NET: LayerSpec[] = [
  conv('conv'),
  { type: 'dropout', rate: 0.25, name: 'drop1' },
  { type: 'flatten', name: 'flat' },
  { type: 'dense', units: 8, activation: 'relu', name: 'hidden' },
  { type: 'dropout', rate: 0.5, name: 'drop2' },
  { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
];
const BN_NET: LayerSpec[] = [conv('conv'), { type: 'batchNormalization', name: 'bn' }, ...DROPOUT_NET.slice(1)];

function weights(parts: ModelParts): Float32Array[] {
  return parts.model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
}

function maxGap(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let gap = 0;
  a.forEach((w, i) => w.forEach((v, j) => (gap = Math.max(gap, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(v))))));
  return gap;
}

/**
 * 125 examples in batches of 40: the last batch has 5, so shards are 14/13/13 and 2/2/1 on
 * three threads, 20/20 and 3/2 on two. Averaging that ignored shard sizes would show.
 */
async function run(threads: number, parts: () => ModelParts, extra: Partial<TrainOptions> = {}, seed = 9) {
  return withSeededRandom(seed, async () => {
    const p = parts();
    const data = images(125);
    const result = await train(p, data, { hp: hp({ epochs: 2, batchSize: 40, optimizer: 'adadelta', learningRate: 1, seed }), labels, peers: pools.get(threads), ...extra }, noHooks);
    disposeData(data);
    const w = weights(p);
    disposeParts(p);
    assert.equal(result.threads, threads);
    return { w, result };
  });
}

const net = (spec: LayerSpec[]) => () => buildModel([8, 8, 1], spec, 3);

describe('results do not depend on the thread count', () => {
  before(async () => {
    const backend = await initBackend('wasm');
    pools.set(2, await TrainingPeers.start(1, backend));
    pools.set(3, await TrainingPeers.start(2, backend));
  });
  after(async () => {
    for (const p of pools.values()) await p.close();
  });

  it('a dropout mask is a function of (seed, epoch, example index): not of the batch it sits in', () => {
    const layer = tf.layers.dropout({ rate: 0.5, name: 'd' });
    const x = tf.ones([4, 64]);
    const masks = (seed: number, epoch: number, rows: number[]) =>
      withExampleMasks({ seed, epoch, rows: Int32Array.from(rows) }, () => tf.tidy(() => (layer.apply(x, { training: true }) as Tensor).arraySync() as number[][]));
    const a = masks(1, 0, [10, 11, 12, 13]);
    const b = masks(1, 0, [13, 99, 10, 7]);
    assert.deepEqual(b[0], a[3], 'row 13 gets its mask wherever it sits in the batch');
    assert.deepEqual(b[2], a[0], 'row 10 too');
    assert.notDeepEqual(a[0], a[1], 'other rows, other masks');
    assert.notDeepEqual(masks(1, 1, [10, 11, 12, 13])[0], a[0], 'another epoch, another mask');
    assert.notDeepEqual(masks(2, 0, [10, 11, 12, 13])[0], a[0], 'another seed, another mask');
    const values = a.flat();
    assert.ok(values.every((v) => v === 0 || v === 2), 'kept units are scaled by 1/(1-rate)');
    const dropped = values.filter((v) => v === 0).length / values.length;
    assert.ok(dropped > 0.35 && dropped < 0.65, `dropped ${dropped}`);
    const inference = withExampleMasks({ seed: 1, epoch: 0, rows: Int32Array.from([1, 2, 3, 4]) }, () => layer.apply(x, { training: false }) as Tensor);
    assert.deepEqual(inference.arraySync(), x.arraySync(), 'inference mode drops nothing');
    tf.dispose([x, inference]);
  });

  it('dropout in base and head, full training: 1, 2 and 3 threads give the same weights', async () => {
    const [one, two, three] = [await run(1, net(DROPOUT_NET)), await run(2, net(DROPOUT_NET)), await run(3, net(DROPOUT_NET))];
    for (const [name, other] of [['2 threads', two], ['3 threads', three]] as const) {
      const gap = maxGap(one.w, other.w);
      assert.ok(gap <= TOLERANCE, `${name}: weights differ by ${gap}`);
      other.result.epochs.forEach((e, i) => assert.ok(Math.abs(e.loss - one.result.epochs[i].loss) < 1e-5, `${name}: loss ${e.loss} vs ${one.result.epochs[i].loss}`));
    }
    assert.ok(one.result.epochs[1].loss < one.result.epochs[0].loss, 'it learns');
  });

  it('a fine-tune with dropout in the head and a base with batch norm, frozen (inference mode): the same for 1, 2 and 3 threads', async () => {
    const ft = () => freeze(buildModel([8, 8, 1], BN_NET, 3).model, {
      cutLayer: 'flat',
      head: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: 3, activation: 'softmax' }],
      freeze: 'all',
      numClasses: 3,
    });
    // Through the base every batch (not the fast path), so the base's batch norm runs in every step.
    const runs = [];
    for (const threads of [1, 2, 3]) runs.push(await run(threads, ft, { disableFastPath: true }));
    assert.equal(runs[0].result.fastPath, false);
    assert.ok(maxGap(runs[0].w, runs[1].w) <= TOLERANCE, `2 threads: ${maxGap(runs[0].w, runs[1].w)}`);
    assert.ok(maxGap(runs[0].w, runs[2].w) <= TOLERANCE, `3 threads: ${maxGap(runs[0].w, runs[2].w)}`);
  });

  it('the exception: batch norm that trains normalises each shard by its own statistics; each thread count still repeats itself exactly', async () => {
    const one = await run(1, net(BN_NET));
    const two = await run(2, net(BN_NET));
    const twoAgain = await run(2, net(BN_NET));
    assert.deepEqual(twoAgain.w, two.w, 'the same seed and thread count give the same weights, bit for bit');
    // What docs/api.md (Reproducibility) states: per-shard statistics change the gradients, so the weights part beyond rounding.
    assert.ok(maxGap(one.w, two.w) > 100 * TOLERANCE, `batch norm per shard: ${maxGap(one.w, two.w)}`);
  });
});
