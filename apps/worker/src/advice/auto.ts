// `strategy: "auto"`: which of the advisor's options to actually train, in two
// rounds, within a compute budget (a quarter of what training every option
// would cost). Round one trains the frozen option at each offered cut: a head
// on one feature pass each, the cheapest runs, and measured they calibrate
// the estimate of every other option (refine.ts). Round two trains the best
// other option by that refined estimate, when it is expected within half a
// point of the best measured one and fits what is left of the budget. The
// winner is the best on validation.
import type { AdviceOption } from '../../../shared/jobs/advice.ts';

/** Of the compute of every option, what auto may spend. */
export const AUTO_BUDGET_FRACTION = 0.25;
/** A refined estimate this close below the best measured accuracy is still worth a run. */
const MARGIN = 0.005;

/** Round one: the frozen option at each offered cut. */
export function firstRound(options: AdviceOption[]): AdviceOption[] {
  return options.filter((o) => o.freeze === 'all');
}

/**
 * Round two: the best untrained option by refined estimate (the cheaper on a tie), if promising and affordable.
 * When round one trained nothing (no frozen option offered), the job still needs a model: the advisor's
 * recommended option, else the cheapest, over the budget if it must be.
 */
export function secondRound(options: AdviceOption[], refined: Map<string, number>, trained: Measured[], recommended?: string): AdviceOption[] {
  if (trained.length === 0) {
    const fallback = options.find((o) => o.id === recommended) ?? [...options].sort((a, b) => a.compute - b.compute)[0];
    return fallback ? [fallback] : [];
  }
  const budget = AUTO_BUDGET_FRACTION * options.reduce((a, o) => a + o.compute, 0);
  const spent = trained.reduce((a, m) => a + m.option.compute, 0);
  const best = Math.max(0, ...trained.map((m) => m.valAccuracy));
  const ids = new Set(trained.map((m) => m.option.id));
  const est = (o: AdviceOption) => refined.get(o.id) ?? o.expectedValAccuracy;
  const next = options.filter((o) => !ids.has(o.id)).sort((a, b) => est(b) - est(a) || a.compute - b.compute)[0];
  return next && est(next) >= best - MARGIN && spent + next.compute <= budget ? [next] : [];
}

export interface Measured {
  option: AdviceOption;
  valAccuracy: number;
}

/** The trained option with the best validation accuracy; ties go to the less compute. */
export function winner(measured: Measured[]): Measured {
  return [...measured].sort((a, b) => b.valAccuracy - a.valAccuracy || a.option.compute - b.option.compute)[0];
}
