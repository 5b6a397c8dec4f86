// strategy "auto"'s choice of options to train, and its winner; the
// benchmark's rank correlation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spearman } from '../apps/bench/advisor/report.ts';
import type { AdviceOption } from '../apps/shared/jobs/advice.ts';
import { autoPlan, winner } from '../apps/worker/src/advice/auto.ts';

const option = (id: string, expectedValAccuracy: number, compute: number, sharesFeaturePass = false): AdviceOption => ({
  id, strategy: 'finetune', freeze: sharesFeaturePass ? 'all' : 'none', hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs: 1, batchSize: 32 }, expectedValAccuracy, compute, sharesFeaturePass,
});

describe('auto strategy', () => {
  it('trains the top options and adds the best frozen one when none of them is frozen', () => {
    const opts = [option('a', 0.9, 50), option('b', 0.92, 40), option('c', 0.8, 10, true), option('d', 0.85, 12, true), option('e', 0.7, 60)];
    const plan = autoPlan(opts, 2);
    assert.deepEqual(plan.run.map((o) => o.id), ['b', 'a', 'd']);
    assert.deepEqual(plan.skipped.map((o) => o.id), ['c', 'e']);
    assert.deepEqual(autoPlan([option('f', 0.95, 5, true), ...opts], 2).run.map((o) => o.id), ['f', 'b']);
  });

  it('keeps the best on validation, the cheaper on a tie', () => {
    assert.equal(winner([{ option: option('a', 0.9, 50), valAccuracy: 0.8 }, { option: option('b', 0.9, 5), valAccuracy: 0.85 }]).option.id, 'b');
    assert.equal(winner([{ option: option('a', 0.9, 50), valAccuracy: 0.85 }, { option: option('b', 0.9, 5), valAccuracy: 0.85 }]).option.id, 'b');
  });

  it('Spearman: 1 for the same order, -1 reversed, ties ranked by their mean', () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
  });
});
