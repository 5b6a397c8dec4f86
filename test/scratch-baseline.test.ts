// compareWithScratch's baseline is a fair one: fresh random weights of its
// own seed (not the fine-tuned weights, not whatever the main run left in the
// random stream), every layer training, on the same data, in the same order,
// for the same budget.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initTestBackend } from './helpers/backend.ts';
import type { LayerSpec } from '../apps/shared/jobs/spec.ts';
import { compare, fromScratch, trainFromScratch } from '../apps/worker/src/pipeline/compare.ts';
import { evaluate } from '../apps/worker/src/pipeline/evaluate.ts';
import { disposeParts, freeze, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { train } from '../apps/worker/src/pipeline/train.ts';
import { disposeData, hp, noHooks, tinyBase, toyData } from './helpers/toy.ts';

const labels = ['a', 'b', 'c'];
const HEAD: LayerSpec[] = [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.3 }, { type: 'dense', units: 3, activation: 'softmax' }];
const HP = hp({ epochs: 3, batchSize: 16, optimizer: 'adam', learningRate: 0.02, seed: 7 });

/** Per layer with weights, its values. */
function layerWeights(parts: ModelParts): Map<string, Float32Array[]> {
  return new Map(parts.model.layers.filter((l) => l.countParams() > 0).map((l) => [l.name, l.getWeights().map((w) => (w.dataSync() as Float32Array).slice())]));
}

const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((w, i) => w.every((v, j) => v === b[i][j]));

/** A fine-tuned model, as the main run of a job leaves it (frozen base, trained head). */
async function fineTuned() {
  return withSeededRandom(HP.seed, async () => {
    const parts = freeze(tinyBase(), { head: HEAD, freeze: 'all', numClasses: 3 });
    const data = toyData(80, 3, 2, true);
    const result = await train(parts, data, { hp: HP, labels }, noHooks);
    return { parts, data, result };
  });
}

describe('compareWithScratch: the baseline', () => {
  before(async () => {
    await initTestBackend();
  });

  it('starts from fresh weights of its own seed: none copied from the fine-tuned model, none depending on earlier draws', async () => {
    const main = await fineTuned();
    const tuned = layerWeights(main.parts);
    // As run-job calls it: inside the job's seeded stream, after the main run drew from it.
    const a = await withSeededRandom(HP.seed, async () => {
      for (let i = 0; i < 1000; i++) Math.random();
      return fromScratch(main.parts.model, HP.seed);
    });
    const b = await fromScratch(main.parts.model, HP.seed);
    const other = await fromScratch(main.parts.model, HP.seed + 1);
    const [wa, wb, wo] = [layerWeights(a), layerWeights(b), layerWeights(other)];
    assert.deepEqual([...wa.keys()], [...tuned.keys()], 'the same architecture');
    for (const [name, w] of wa) {
      assert.ok(same(w, wb.get(name)!), `${name}: the same seed gives the same weights, whatever was drawn before`);
      assert.ok(!same(w, tuned.get(name)!), `${name}: not the fine-tuned weights`);
      assert.ok(!same(w, wo.get(name)!), `${name}: another seed, other weights`);
    }
    [main.parts, a, b, other].forEach(disposeParts);
    disposeData(main.data);
  });

  it('trains every layer, on the same data, order and budget as the fine-tuned run', async () => {
    const main = await fineTuned();
    const initial = await fromScratch(main.parts.model, HP.seed);
    const before = layerWeights(initial);
    disposeParts(initial);
    const { parts, result } = await trainFromScratch(main.parts.model, main.data, { hp: HP, labels }, noHooks);
    assert.ok(parts.model.layers.every((l) => l.trainable), 'every layer trainable');
    const after = layerWeights(parts);
    for (const [name, w] of after) assert.ok(!same(w, before.get(name)!), `${name} learned`);
    assert.equal(result.epochs.length, main.result.epochs.length, 'the same number of epochs');
    assert.equal(result.fastPath, false);

    // A reference: the same fresh model trained by hand with the main run's hyperparameters (seed, so
    // order and masks; epochs; batch size). Any other order or budget gives other weights.
    const reference = await fromScratch(main.parts.model, HP.seed);
    await train(reference, main.data, { hp: HP, labels }, noHooks);
    const ref = layerWeights(reference);
    for (const [name, w] of after) assert.ok(same(w, ref.get(name)!), `${name}: the reference run's weights`);
    [main.parts, parts, reference].forEach(disposeParts);
    disposeData(main.data);
  });

  it('the comparison times training alike: the fine-tuned run\'s checkpoint writes (its epoch-end hook) are not counted', async () => {
    const main = await fineTuned();
    const slowHooks = { shouldStop: () => false as const, onEpochEnd: () => new Promise<void>((r) => setTimeout(r, 150)) };
    const tuned = await withSeededRandom(HP.seed, () => train(main.parts, main.data, { hp: HP, labels }, slowHooks));
    assert.ok(tuned.epochEndMs >= 3 * 140, `epoch-end hooks took ${tuned.epochEndMs} ms`);
    const scratch = await trainFromScratch(main.parts.model, main.data, { hp: HP, labels }, noHooks);
    const ev = await evaluate(main.parts.model, main.data.valX!, main.data.valClasses!, labels, 'validation');
    const c = compare(0.9, { evaluation: ev, train: tuned }, { evaluation: ev, train: scratch.result });
    assert.equal(c.fineTuned.wallTimeMs, tuned.wallTimeMs - tuned.epochEndMs);
    assert.ok(c.fineTuned.wallTimeMs < tuned.wallTimeMs - 400);
    [main.parts, scratch.parts].forEach(disposeParts);
    disposeData(main.data);
  });
});
