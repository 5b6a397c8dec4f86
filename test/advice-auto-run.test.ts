// strategy "auto" on tensors: the advisor's options for a tiny base, the short
// list trained with the frozen ones sharing one feature pass per cut, the best
// on validation kept and every option recorded.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { advise } from '../apps/worker/src/advice/measure.ts';
import { runAuto } from '../apps/worker/src/advice/auto-run.ts';
import { baseUpTo } from '../apps/worker/src/advice/features.ts';
import { predictBatched } from '../apps/worker/src/pipeline/scoring.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { initTestBackend } from './helpers/backend.ts';
import { tinyBase, toyData } from './helpers/toy.ts';

describe('auto strategy on tensors', () => {
  before(async () => {
    await initTestBackend();
  });

  it('trains the short list, frozen options on one feature pass, and records every option', async () => {
    const base = await withSeededRandom(3, async () => tinyBase());
    const data = toyData(120, 3, 1, true);
    const advice = await advise({ base, x: data.x, classes: data.classes, numClasses: 3, sampleSize: 100, epochs: 2, headWeightedLayers: 1 });
    let passes = 0;
    const record = await runAuto(advice, { train: data, test: { x: data.valX!, classes: data.valClasses! }, labels: ['a', 'b', 'c'] }, {
      base: async () => withSeededRandom(3, async () => tinyBase()),
      head: [{ type: 'dense', units: 3, activation: 'softmax' }],
      scratch: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }],
      seed: 7,
    }, async (cut) => {
      passes++;
      const m = baseUpTo(base, cut);
      return { train: predictBatched(m, data.x), validation: predictBatched(m, data.valX!) };
    });
    // Round one: the frozen option at each cut, each on its cut's one feature pass.
    assert.deepEqual(record.tried.slice(0, 2).map((t) => t.id), ['finetune:hidden2:all', 'finetune:hidden1:all']);
    assert.ok(record.tried.length <= 3);
    assert.equal(record.featurePasses, 2);
    assert.equal(passes, 2);
    assert.equal(record.tried.length + record.skipped.length, advice.options.length);
    const best = Math.max(...record.tried.map((t) => t.valAccuracy));
    assert.equal(record.tried.find((t) => t.id === record.winner)!.valAccuracy, best);
    assert.ok(record.compute.tried < record.compute.allOptions);
    tf.dispose([data.x, data.y, data.valX!]);
  });
});
