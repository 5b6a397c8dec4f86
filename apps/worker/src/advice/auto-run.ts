// strategy "auto", on tensors: the advisor's short list trained (frozen
// options at one cut on one feature pass), the best on validation kept, every
// option recorded (trained ones with their scores, the rest as skipped). The
// job stage that will call this owns the data, the storage and the records.
import type { Advice, AdviceOption } from '../../../shared/jobs/advice.ts';
import type { Features } from '../pipeline/base-features.ts';
import { autoPlan, winner } from './auto.ts';
import { disposeFeatureSet, runOption, type OptionData, type OptionResult, type OptionSetup } from './run-option.ts';

export interface AutoRecord {
  winner: string;
  tried: Array<OptionResult & { expectedValAccuracy: number; compute: number }>;
  skipped: Array<{ id: string; expectedValAccuracy: number; compute: number }>;
  /** Forward passes of the base over the data for frozen options (one per cut at most). */
  featurePasses: number;
  compute: { tried: number; allOptions: number };
}

export async function runAuto(advice: Advice, data: OptionData, setup: Omit<OptionSetup, 'features'>, cutFeatures: (cut: string) => Promise<Features>, top = 2): Promise<AutoRecord> {
  const plan = autoPlan(advice.options, top);
  const sets = new Map<string, Features>();
  const features = async (cut: string) => {
    if (!sets.has(cut)) sets.set(cut, await cutFeatures(cut));
    return sets.get(cut)!;
  };
  const tried: AutoRecord['tried'] = [];
  try {
    for (const option of plan.run) tried.push({ ...(await runOption(option, data, { ...setup, features })), expectedValAccuracy: option.expectedValAccuracy, compute: option.compute });
  } finally {
    for (const f of sets.values()) disposeFeatureSet(f);
  }
  const byId = new Map<string, AdviceOption>(plan.run.map((o) => [o.id, o]));
  const best = winner(tried.map((t) => ({ option: byId.get(t.id)!, valAccuracy: t.valAccuracy })));
  const sum = (xs: AdviceOption[]) => xs.reduce((s, o) => s + o.compute, 0);
  return {
    winner: best.option.id,
    tried,
    skipped: plan.skipped.map((o) => ({ id: o.id, expectedValAccuracy: o.expectedValAccuracy, compute: o.compute })),
    featurePasses: sets.size,
    compute: { tried: sum(plan.run), allOptions: sum(advice.options) },
  };
}

