// Data-parallel training across worker threads: a peer thread computes the
// gradients of part of every batch on a replica of the model. The result must
// be the model single-threaded training gives (up to float rounding), for
// full training, partial unfreezing and the frozen-base fast path. Each run
// ends on a batch whose shards differ in size. (test/determinism.test.ts:
// 1, 2 and 3 threads with dropout.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { initBackend, tf } from '../apps/shared/ml/tf.ts';
import type { Freeze, LayerSpec } from '../apps/shared/jobs/spec.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { disposeParts, freeze, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { predictBatched } from '../apps/worker/src/pipeline/scoring.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { train } from '../apps/worker/src/pipeline/train.ts';
import { splitRows, TrainingPeers } from '../apps/worker/src/parallel/training-peers.ts';
import { changingLayers } from '../apps/worker/src/pipeline/batch-gradients.ts';
import { disposeData, hp, images, noHooks, tinyBase, toyData } from './helpers/toy.ts';

const labels = ['a', 'b', 'c'];
let peers: TrainingPeers;

function weights(parts: ModelParts): Float32Array[] {
  return parts.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function assertClose(a: Float32Array[], b: Float32Array[], tol: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= tol * Math.max(1, Math.abs(v)), `${what}: weight ${i}[${j}] ${v} vs ${b[i][j]}`)));
}

const CONV: LayerSpec[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' },
  { type: 'maxPooling2d', poolSize: 2, name: 'pool' },
  { type: 'flatten', name: 'flat' },
  { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
];

async function fineTune(freezeMode: Freeze, withPeers: boolean, head: LayerSpec[] = [{ type: 'dense', units: 3, activation: 'softmax' }], seed = 5) {
  return withSeededRandom(seed, async () => {
    const parts = freeze(tinyBase(), { head, freeze: freezeMode, numClasses: 3 });
    // 197 = 6 × 32 + 5: the last batch splits 3/2, so averaging that ignored shard sizes would show.
    const data = toyData(197, 3, 4, true);
    const result = await train(parts, data, { hp: hp({ epochs: 3, batchSize: 32, optimizer: 'momentum', learningRate: 0.05, seed }), labels, peers: withPeers ? peers : undefined }, noHooks);
    disposeData(data);
    return { parts, result };
  });
}

describe('data-parallel training', () => {
  before(async () => {
    const backend = await initBackend('wasm');
    peers = await TrainingPeers.start(1, backend);
  });
  after(async () => {
    await peers.close();
  });

  it('splits a batch into contiguous shards that cover it', () => {
    assert.deepEqual(splitRows(10, 3), [[0, 4], [4, 7], [7, 10]]);
    assert.deepEqual(splitRows(1, 2), [[0, 1], [1, 1]]);
  });

  it('full training of a conv net: the same model as on one thread', async () => {
    const run = (withPeers: boolean) => withSeededRandom(3, async () => {
      const parts = buildModel([8, 8, 1], CONV, 3);
      // The last batch of 5 splits 3/2 (shards of uneven size).
      const data = images(155);
      const result = await train(parts, data, { hp: hp({ epochs: 2, batchSize: 50, optimizer: 'adadelta', learningRate: 1, seed: 3 }), labels, peers: withPeers ? peers : undefined }, noHooks);
      disposeData(data);
      return { parts, result };
    });
    const one = await run(false);
    const two = await run(true);
    assert.equal(one.result.threads, 1);
    assert.equal(two.result.threads, 2);
    assertClose(weights(one.parts), weights(two.parts), 1e-4, 'conv');
    one.result.epochs.forEach((e, i) => {
      assert.ok(Math.abs(e.loss - two.result.epochs[i].loss) < 1e-4, `loss ${e.loss} vs ${two.result.epochs[i].loss}`);
      assert.equal(e.accuracy, two.result.epochs[i].accuracy);
    });
    assert.ok(two.result.epochs[1].loss < two.result.epochs[0].loss, 'it learns');
    disposeParts(one.parts);
    disposeParts(two.parts);
  });

  for (const mode of ['none', { unfreezeTop: 1 }, { unfreezeEvery: 1 }, 'all'] as Freeze[]) {
    it(`fine-tuning with freeze ${JSON.stringify(mode)}: the same model as on one thread`, async () => {
      const one = await fineTune(mode, false);
      const two = await fineTune(mode, true);
      assert.equal(two.result.threads, 2);
      assert.equal(two.result.fastPath, mode === 'all');
      assertClose(weights(one.parts), weights(two.parts), 1e-5, JSON.stringify(mode));
      disposeParts(one.parts);
      disposeParts(two.parts);
    });
  }

  it('a frozen base\'s features computed across threads equal those computed on one', async () => {
    const parts = freeze(tinyBase(), { head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: 'all', numClasses: 3 });
    const data = toyData(1000, 3, 6);
    await peers.load(parts);
    const [one, two] = [predictBatched(parts.base!, data.x), await peers.features(parts.base!, data.x)];
    assert.deepEqual(two.shape, one.shape);
    assertClose([one.dataSync() as Float32Array], [two.dataSync() as Float32Array], 1e-6, 'features');
    tf.dispose([one, two]);
    disposeData(data);
    disposeParts(parts);
  });

  it('dropout in peers is seeded: two runs with the same seed give the same model', async () => {
    const head: LayerSpec[] = [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: 3, activation: 'softmax' }];
    const a = await fineTune('none', true, head);
    const b = await fineTune('none', true, head);
    assert.deepEqual(weights(a.parts), weights(b.parts));
    assert.deepEqual(a.result.epochs.map((e) => e.loss), b.result.epochs.map((e) => e.loss));
    disposeParts(a.parts);
    disposeParts(b.parts);
  });

  it('an error in a peer fails the step with the peer\'s message, and no tensors leak', async () => {
    const before = tf.memory().numTensors;
    const parts = freeze(tinyBase(), { head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: 'none', numClasses: 3 });
    await peers.load(parts);
    // Rows of the wrong width: the replica cannot take them.
    const rows = { data: new Float32Array(5 * 7), shape: [5, 7] };
    const sync = changingLayers(parts, 3).flatMap((l) => l.getWeights()).map((w) => (w.dataSync() as Float32Array).slice());
    await assert.rejects(peers.gradients([{ x: rows, y: { data: new Float32Array(15), shape: [5, 3] }, unfrozen: 3, features: false, dropout: { seed: 1, epoch: 0, rows: new Int32Array(5) }, sync }]), /shape|expected|dimension/i);
    disposeParts(parts);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(peers.healthy);
  });
});
