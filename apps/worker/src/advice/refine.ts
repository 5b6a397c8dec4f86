// The advisor's estimate, refined by measurement: once the frozen option at
// each offered cut has been trained (a head on one feature pass: the cheapest
// runs there are), every other option is re-estimated from those measured
// numbers instead of from the probes alone. Why: the probes rank cuts by how
// separable their features are, but not by how fast a head learns on them in
// the option's epochs (on the benchmark, a head on the 128-wide dense cut lagged
// the flatten cut by 18 points in 2 epochs while their probes were within 1).
//   frozen at a cut: its measured validation accuracy;
//   unfreezing k layers at a cut: from the frozen cut's measured accuracy
//     towards what re-learning those k layers reaches on the features k layers
//     down (measured when that is an offered cut; else its probe, with the
//     data-abundance factor scratch gets, since re-learned layers are a net
//     trained on those features, shifted by the mean measured-minus-probe
//     offset), reaching a fraction min(1, epochs / REACH_EPOCHS) of the way;
//     then the adaptation recommend.ts credits to trained base layers, in
//     proportion to the share of the cut's base layers trained at the end;
//     gradual unfreezing ⅓ frozen, ⅔ unfrozen, as in recommend.ts;
//   scratch: its probe estimate plus the same offset.
import type { Advice, AdviceOption } from '../../../shared/jobs/advice.ts';
import { adaptation, dataAbundance, extrapolatedError, finalUnfrozen } from './recommend.ts';

/**
 * Epochs over which unfreezing closes the gap to the features below. A prior calibrated on
 * bench:advisor's three tasks (chosen from 2, 4, 6, 10; 4 to 10 rank alike there): not validated beyond them.
 */
export const REACH_EPOCHS = 4;

const isFrozen = (o: AdviceOption) => o.freeze === 'all';

/** Refined expected validation accuracy per option id, from the frozen options' measured accuracy (by cut layer). */
export function refine(advice: Advice, measuredFrozen: Map<string, number>): Map<string, number> {
  const n = advice.data.examples;
  const probeError = (c: Advice['cuts'][number]) => extrapolatedError(c.probeAccuracy, c.probeAccuracyHalf, advice.sampleSize, n);
  const probeLevel = (c: Advice['cuts'][number]) => 1 - 0.8 * probeError(c);
  // Layers re-learned on a cut's features with more data do better than a head on them, as scratch does on the raw input.
  const relearnedLevel = (c: Advice['cuts'][number]) => 1 - Math.min(0.8, dataAbundance(n)) * probeError(c);
  const measuredCuts = advice.cuts.filter((c) => measuredFrozen.has(c.layer));
  const offset = measuredCuts.length ? measuredCuts.reduce((a, c) => a + measuredFrozen.get(c.layer)! - probeLevel(c), 0) / measuredCuts.length : 0;
  const scratch = advice.options.find((o) => o.strategy === 'scratch');
  const rawLevel = (scratch?.expectedValAccuracy ?? 0) + offset;
  // What re-learning the layers above reaches on the features `w` weighted layers up.
  const level = (w: number): number => {
    if (w <= 0) return rawLevel;
    const at = advice.cuts.filter((c) => c.weightedLayersBelow === w);
    const measured = at.find((c) => measuredFrozen.has(c.layer));
    if (measured) return measuredFrozen.get(measured.layer)!;
    return at.length ? relearnedLevel(at[0]) + offset : rawLevel;
  };
  const out = new Map<string, number>();
  for (const o of advice.options) {
    const cut = advice.cuts.find((c) => c.layer === o.cutLayer);
    const frozen = o.cutLayer !== undefined ? measuredFrozen.get(o.cutLayer) : undefined;
    if (o.strategy === 'scratch' || !cut || frozen === undefined) {
      out.set(o.id, o.strategy === 'scratch' ? rawLevel : o.expectedValAccuracy + offset);
      continue;
    }
    if (isFrozen(o)) {
      out.set(o.id, frozen);
      continue;
    }
    const blocks = cut.weightedLayersBelow;
    const k = finalUnfrozen(o.freeze, blocks, o.hyperparameters.epochs);
    const reach = Math.min(1, o.hyperparameters.epochs / REACH_EPOCHS);
    const relearned = frozen + reach * Math.max(0, level(blocks - k) - frozen);
    const unfrozen = 1 - (1 - relearned) * (1 - adaptation(n) * reach * (blocks ? k / blocks : 0));
    out.set(o.id, typeof o.freeze === 'object' && 'unfreezeEvery' in o.freeze ? (frozen + 2 * unfrozen) / 3 : unfrozen);
  }
  return out;
}
