// `strategy: "auto"`: which of the advisor's options to actually train. The
// top few by expected accuracy, plus the best frozen option when none of them
// is frozen (it costs a head's training on one feature pass, and guards against
// the estimate overrating unfreezing). The winner is the best on validation.
import type { AdviceOption } from '../../../shared/jobs/advice.ts';

export interface AutoPlan {
  /** Options to train, best expected first. */
  run: AdviceOption[];
  /** The rest, recorded but not trained. */
  skipped: AdviceOption[];
}

export function autoPlan(options: AdviceOption[], top = 2): AutoPlan {
  const ranked = [...options].sort((a, b) => b.expectedValAccuracy - a.expectedValAccuracy || a.compute - b.compute);
  const run = ranked.slice(0, top);
  if (!run.some((o) => o.sharesFeaturePass)) {
    const frozen = ranked.find((o) => o.sharesFeaturePass);
    if (frozen) run.push(frozen);
  }
  return { run, skipped: ranked.filter((o) => !run.includes(o)) };
}

export interface Measured {
  option: AdviceOption;
  valAccuracy: number;
}

/** The trained option with the best validation accuracy; ties go to the less compute. */
export function winner(measured: Measured[]): Measured {
  return [...measured].sort((a, b) => b.valAccuracy - a.valAccuracy || a.option.compute - b.option.compute)[0];
}
