// The advisor's measurements on the MNIST 0–4 base (a Keras fixture) and
// digits 5–9: the numbers are in range, every option is costed, and the
// recommendation is the best expected accuracy, cheapest within half a point.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadMnistBase } from '../apps/bench/advisor/base-model.ts';
import { loadDigits, mnistDir } from '../apps/bench/mnist-idx.ts';
import type { AdviceOption } from '../apps/shared/jobs/advice.ts';
import { tf } from '../apps/shared/ml/tf.ts';
import { dataStats } from '../apps/worker/src/advice/data-stats.ts';
import { advise } from '../apps/worker/src/advice/measure.ts';
import { extrapolatedError, pick } from '../apps/worker/src/advice/recommend.ts';
import { outputSimilarity } from '../apps/worker/src/advice/similarity.ts';
import { initTestBackend } from './helpers/backend.ts';

const option = (id: string, expectedValAccuracy: number, compute: number): AdviceOption => ({
  id, strategy: 'finetune', freeze: 'all', hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs: 1, batchSize: 32 }, expectedValAccuracy, compute, sharesFeaturePass: true,
});

describe('advisor measurements', () => {
  before(async () => {
    await initTestBackend();
  });

  it('picks the best expected accuracy, and the cheaper option within half a point', () => {
    assert.equal(pick([option('a', 0.9, 100), option('b', 0.8, 10)]).id, 'a');
    assert.equal(pick([option('a', 0.9, 100), option('b', 0.896, 10)]).id, 'b');
  });

  it('extrapolates the probe error along its own learning curve', () => {
    // Error 0.2 at 500, 0.2·√2 at 250: b = 0.5, so at 2,000 examples the error halves.
    assert.ok(Math.abs(extrapolatedError(0.8, 1 - 0.2 * Math.SQRT2, 500, 2000) - 0.1) < 1e-9);
    assert.ok(Math.abs(extrapolatedError(0.8, 0.7, 500, 300) - 0.2) < 1e-12); // no extrapolation below the sample
  });

  it('similarity: 1 for confident outputs, 0 for uniform ones, logits through a softmax', async () => {
    const fixed = (units: number, activation: 'softmax' | 'linear', bias: number[]) => {
      const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units, activation, kernelInitializer: 'zeros', biasInitializer: 'zeros' })] });
      m.layers[0].setWeights([tf.zeros([2, units]), tf.tensor1d(bias)]);
      return m;
    };
    const x = tf.ones([4, 2]);
    assert.ok(Math.abs((await outputSimilarity(fixed(4, 'softmax', [0, 0, 0, 0]), x)).value) < 1e-6, 'uniform: 0');
    assert.ok((await outputSimilarity(fixed(4, 'softmax', [30, 0, 0, 0]), x)).value > 0.999, 'confident: 1');
    const logits = await outputSimilarity(fixed(4, 'linear', [-3, 1, 2, 0.5]), x);
    assert.ok(logits.value > 0 && logits.value < 1, `logits ${logits.value}`);
    x.dispose();
  });

  it('class balance from the labels', () => {
    const s = dataStats([0, 0, 0, 1], 2);
    assert.deepEqual(s.perClass, [3, 1]);
    assert.equal(s.minMaxRatio, 1 / 3);
    assert.ok(s.balance > 0.8 && s.balance < 0.82);
  });

  it('measures the MNIST 0-4 base on digits 5-9', async () => {
    const base = await loadMnistBase();
    const digits = await loadDigits(mnistDir(), 'train', 5);
    const x = digits.x.slice(0, 300);
    const advice = await advise({ base, x, classes: digits.classes.slice(0, 300), numClasses: 5, sampleSize: 200, headWeightedLayers: 2 });
    tf.dispose([x, digits.x, digits.y]);
    base.dispose();
    assert.equal(advice.sampleSize, 200);
    assert.equal(advice.data.examples, 300);
    // Options on the two cuts nearest the output; conv1 is measured for what unfreezing conv2 recovers.
    assert.deepEqual(advice.cuts.map((c) => [c.layer, c.offered, c.weightedLayersBelow]), [['dense1', true, 3], ['flatten', true, 2], ['conv1', false, 1]]);
    assert.deepEqual(advice.cuts.map((c) => [c.dims, c.measuredDims]), [[128, 128], [4608, 128], [21632, 128]]);
    assert.ok(advice.options.every((o) => o.cutLayer !== 'conv1'));
    for (const c of advice.cuts) assert.ok(c.probeAccuracy > 0.5 && c.probeAccuracy <= 1, `${c.layer} probe ${c.probeAccuracy}`);
    assert.ok(advice.similarity.value > 0 && advice.similarity.value < 1);
    const ids = advice.options.map((o) => o.id);
    assert.ok(ids.includes('scratch') && ids.includes('finetune:flatten:all') && ids.includes('finetune:flatten:none'), ids.join());
    const byId = new Map(advice.options.map((o) => [o.id, o]));
    assert.ok(byId.get('finetune:flatten:all')!.compute < byId.get('finetune:flatten:none')!.compute);
    for (const o of advice.options) assert.ok(o.expectedValAccuracy >= 0 && o.expectedValAccuracy <= 1);
    assert.equal(advice.recommended, pick(advice.options).id);
    // Unfreezing dense1 reaches at least what a head on flatten (the features below it) is expected to reach.
    assert.ok(byId.get('finetune:dense1:top1')!.expectedValAccuracy >= Math.max(byId.get('finetune:dense1:all')!.expectedValAccuracy, byId.get('finetune:flatten:all')!.expectedValAccuracy) - 1e-12);
  });
});
