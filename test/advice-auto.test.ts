// strategy "auto"'s choice of options to train, and its winner; the
// benchmark's rank correlation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spearman } from '../apps/bench/advisor/report.ts';
import type { Advice, AdviceOption } from '../apps/shared/jobs/advice.ts';
import { extrapolatedError } from '../apps/worker/src/advice/recommend.ts';
import { refine } from '../apps/worker/src/advice/refine.ts';
import { firstRound, secondRound, winner } from '../apps/worker/src/advice/auto.ts';

const option = (id: string, expectedValAccuracy: number, compute: number, sharesFeaturePass = false): AdviceOption => ({
  id, strategy: 'finetune', freeze: sharesFeaturePass ? 'all' : 'none', hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs: 1, batchSize: 32 }, expectedValAccuracy, compute, sharesFeaturePass,
});

describe('auto strategy', () => {
  it('round one trains the frozen option at each cut; round two the best refined estimate, if promising and within a quarter of the compute', () => {
    const opts = [option('a', 0.9, 50), option('b', 0.92, 40), option('c', 0.8, 10, true), option('d', 0.85, 12, true), option('e', 0.7, 60)];
    assert.deepEqual(firstRound(opts).map((o) => o.id), ['c', 'd']);
    const trained = [{ option: opts[2], valAccuracy: 0.8 }, { option: opts[3], valAccuracy: 0.85 }];
    // Budget: a quarter of 172 is 43; 22 spent, so b (40) does not fit, a (50) neither.
    assert.deepEqual(secondRound(opts, new Map([['a', 0.95], ['b', 0.9]]), trained).map((o) => o.id), []);
    // b at 10: a quarter of 142 is 35.5, and 22 + 10 fits.
    const cheap = opts.map((o) => (o.id === 'b' ? { ...o, compute: 10 } : o));
    assert.deepEqual(secondRound(cheap, new Map([['a', 0.95], ['b', 0.96]]), trained).map((o) => o.id), ['b']);
    // Expected below the best measured (by more than half a point): not worth a run.
    assert.deepEqual(secondRound(cheap, new Map([['a', 0.8], ['b', 0.84]]), trained).map((o) => o.id), []);
    assert.deepEqual(secondRound(cheap, new Map([['a', 0.8], ['b', 0.846]]), trained).map((o) => o.id), ['b']);
  });

  it('round one empty (no frozen option) and everything over budget: still one option, the recommended else the cheapest', () => {
    const opts = [option('a', 0.9, 50), option('scratch', 0.7, 60)];
    assert.deepEqual(firstRound(opts), []);
    assert.deepEqual(secondRound(opts, new Map(), [], 'scratch').map((o) => o.id), ['scratch']);
    assert.deepEqual(secondRound(opts, new Map(), []).map((o) => o.id), ['a']);
    assert.deepEqual(secondRound([], new Map(), []), []);
  });

  it('refines: frozen options are their measured accuracy; unfreezing moves towards the level below, by epochs; the rest shift by the measured offset', () => {
    const cut = (layer: string, w: number, offered: boolean, probe: number) => ({ layer, dims: 8, measuredDims: 8, weightedLayersBelow: w, offered, logme: 0, probeAccuracy: probe, probeAccuracyHalf: probe });
    const ft = (c: string, freeze: AdviceOption['freeze'], epochs: number, expected: number): AdviceOption => ({ ...option(`${c}:${JSON.stringify(freeze)}:${epochs}`, expected, 1, freeze === 'all'), cutLayer: c, freeze, hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs, batchSize: 32 } });
    const opts = [ft('c2', 'all', 2, 0.9), ft('c1', 'all', 2, 0.9), ft('c2', { unfreezeTop: 1 }, 2, 0.9), ft('c2', { unfreezeTop: 1 }, 20, 0.9), ft('c2', { unfreezeTop: 2 }, 20, 0.9), { ...option('scratch', 0.7, 1), strategy: 'scratch' as const }];
    // Probes of 0.5 everywhere (sample = data): every probe level is 1 − 0.8·0.5 = 0.6.
    const advice = { data: { examples: 100 }, sampleSize: 100, cuts: [cut('c2', 2, true, 0.5), cut('c1', 1, true, 0.5)], options: opts } as unknown as Advice;
    const r = refine(advice, new Map([['c2', 0.7], ['c1', 0.9]]));
    const near = (id: string, v: number) => assert.ok(Math.abs(r.get(id)! - v) < 1e-9, `${id}: ${r.get(id)} ≠ ${v}`);
    near(opts[0].id, 0.7);
    near(opts[1].id, 0.9);
    near(opts[2].id, 0.7 + 0.5 * 0.2); // 2 of REACH_EPOCHS (4) epochs: half way to the measured level below
    near(opts[3].id, 0.9); // 20 epochs: all the way
    // Two down is the raw input: the scratch estimate plus the mean offset ((0.7 − 0.6) + (0.9 − 0.6)) / 2 = 0.2, above c2's 0.7.
    near(opts[4].id, 0.9);
    near('scratch', 0.9);
  });

  it('refines with more data: a level re-learned from an unmeasured cut gets the data-abundance factor; trained base layers adapt in proportion', () => {
    const cut = (layer: string, w: number, offered: boolean) => ({ layer, dims: 8, measuredDims: 8, weightedLayersBelow: w, offered, logme: 0, probeAccuracy: 0.5, probeAccuracyHalf: 0.5 });
    const ft = (freeze: AdviceOption['freeze']): AdviceOption => ({ ...option(`c3:${JSON.stringify(freeze)}`, 0.9, 1, freeze === 'all'), cutLayer: 'c3', freeze, hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs: 20, batchSize: 32 } });
    const opts = [ft('all'), ft({ unfreezeTop: 2 }), ft('none'), { ...option('scratch', 0.95, 1), strategy: 'scratch' as const }];
    // 10,000 examples from a 100-example sample: every probe's extrapolated error is e.
    const advice = { data: { examples: 10_000 }, sampleSize: 100, cuts: [cut('c3', 3, true), cut('c1', 1, false)], options: opts } as unknown as Advice;
    const e = extrapolatedError(0.5, 0.5, 100, 10_000);
    const offset = 0.7 - (1 - 0.8 * e);
    const abundance = 1 - 0.3 * Math.log10(100); // 0.4: scratch's factor at 10,000 examples
    const adapt = 0.1 * Math.log10(40); // recommend.ts's adaptation at 10,000 examples
    const r = refine(advice, new Map([['c3', 0.7]]));
    const near = (id: string, v: number) => assert.ok(Math.abs(r.get(id)! - v) < 1e-9, `${id}: ${r.get(id)} ≠ ${v}`);
    near(opts[0].id, 0.7);
    // Two of three base layers re-learned on c1's features (unmeasured: its probe, with the abundance factor, plus the offset), then adapted by ⅔ of the full adaptation.
    near(opts[1].id, 1 - (1 - (1 - abundance * e + offset)) * (1 - adapt * (2 / 3)));
    // All three re-learned from the raw input: the scratch estimate plus the offset, then fully adapted.
    near(opts[2].id, 1 - (1 - (0.95 + offset)) * (1 - adapt));
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
