// strategy "auto", on tensors: the two rounds of auto.ts trained (frozen
// options at one cut on one feature pass), the best on validation kept, every
// option recorded (trained ones with their scores, the rest as skipped, each
// with its refined estimate). The job stage (stages/auto.ts) does the same with
// the job's own stages, data and storage.
import type { Advice, AdviceOption } from '../../../shared/jobs/advice.ts';
import type { Features } from '../pipeline/base-features.ts';
import { firstRound, secondRound, winner, type Measured } from './auto.ts';
import { refine } from './refine.ts';
import { disposeFeatureSet, runOption, type OptionData, type OptionResult, type OptionSetup } from './run-option.ts';

export interface AutoRecord {
  winner: string;
  tried: Array<OptionResult & { expectedValAccuracy: number; compute: number }>;
  skipped: Array<{ id: string; expectedValAccuracy: number; refinedValAccuracy: number; compute: number }>;
  /** Forward passes of the base over the data for frozen options (one per cut at most). */
  featurePasses: number;
  compute: { tried: number; allOptions: number };
}

/** Round one, refine, round two: what a trained option measured comes from `train`. */
export async function autoRounds(advice: Advice, train: (o: AdviceOption) => Promise<number>): Promise<{ measured: Measured[]; refined: Map<string, number> }> {
  const measured: Measured[] = [];
  for (const option of firstRound(advice.options)) measured.push({ option, valAccuracy: await train(option) });
  const refined = refine(advice, new Map(measured.map((m) => [m.option.cutLayer!, m.valAccuracy])));
  for (const option of secondRound(advice.options, refined, measured, advice.recommended)) measured.push({ option, valAccuracy: await train(option) });
  return { measured, refined };
}

export async function runAuto(advice: Advice, data: OptionData, setup: Omit<OptionSetup, 'features'>, cutFeatures: (cut: string) => Promise<Features>): Promise<AutoRecord> {
  const sets = new Map<string, Features>();
  const features = async (cut: string) => {
    if (!sets.has(cut)) sets.set(cut, await cutFeatures(cut));
    return sets.get(cut)!;
  };
  const tried: AutoRecord['tried'] = [];
  let rounds: Awaited<ReturnType<typeof autoRounds>>;
  try {
    rounds = await autoRounds(advice, async (option) => {
      const r = await runOption(option, data, { ...setup, features });
      tried.push({ ...r, expectedValAccuracy: option.expectedValAccuracy, compute: option.compute });
      return r.valAccuracy;
    });
  } finally {
    for (const f of sets.values()) disposeFeatureSet(f);
  }
  const ran = new Set(tried.map((t) => t.id));
  const sum = (xs: Array<{ compute: number }>) => xs.reduce((s, o) => s + o.compute, 0);
  return {
    winner: winner(rounds.measured).option.id,
    tried,
    skipped: advice.options.filter((o) => !ran.has(o.id)).map((o) => ({ id: o.id, expectedValAccuracy: o.expectedValAccuracy, refinedValAccuracy: rounds.refined.get(o.id)!, compute: o.compute })),
    featurePasses: sets.size,
    compute: { tried: sum(tried), allOptions: sum(advice.options) },
  };
}
