// Asynchronous successive halving (ASHA, Li et al. 2020), in its stopping form
// (as Ray Tune's ASHAScheduler): rungs at minEpochs × factor^k epochs; a trial
// reaching a rung stops when its objective is below the top 1/factor of every
// value recorded at that rung so far, its own included. Asynchronous: a trial
// is judged against those that got there before it, so none waits for others.
import type { Asha, Direction } from './spec.ts';

/** The rungs (epochs) a trial of `epochs` epochs passes on its way; none at its last epoch. */
export function rungs(asha: Asha, epochs: number): number[] {
  const out: number[] = [];
  for (let r = asha.minEpochs; r < epochs; r *= asha.reductionFactor) out.push(r);
  return out;
}

/** The q-th quantile (0..1) with linear interpolation between order statistics (numpy's default). */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo] + (s[hi] - s[lo]) * (at - lo);
}

/** Whether the trial whose objective at a rung is `mine` stops, given everything recorded there (`mine` included). */
export function stopsAtRung(recorded: number[], mine: number, direction: Direction, factor: number): boolean {
  // Scores are higher-is-better: a loss is negated.
  const sign = direction === 'max' ? 1 : -1;
  const cutoff = quantile(recorded.map((v) => sign * v), 1 - 1 / factor);
  return sign * mine < cutoff;
}
