// Stage: baseline. When the job asks for the comparison, the same
// architecture trains from scratch on the same data, order and budget.
import { disposeParts, type ModelParts } from '../pipeline/freeze.ts';
import { trainFromScratch } from '../pipeline/compare.ts';
import type { TrainResult } from '../pipeline/train.ts';
import type { Built } from './build.ts';
import type { StageContext } from './context.ts';
import type { Owned } from './owned.ts';
import type { Prepared } from './prepare-data.ts';
import { jobAugment, STOPS, trainData } from './train.ts';

export interface Baseline {
  parts: ModelParts;
  result: TrainResult;
}

export async function baseline(s: StageContext, prepared: Prepared, built: Built, main: TrainResult, owned: Owned): Promise<Baseline | null> {
  if (main.stopped || !s.spec.compareWithScratch) return null;
  s.log.info('training the same architecture from scratch for comparison');
  const hp = s.spec.hyperparameters;
  // The baseline is not checkpointed: interrupted, it starts over after the fine-tuned model resumes.
  const run = await trainFromScratch(built.parts.model, trainData(prepared.data), { hp, labels: s.spec.labels, peers: prepared.peers, augment: jobAugment(s) }, {
    shouldStop: s.stopFor(STOPS),
    onEpochEnd: async () => undefined,
  });
  owned.add(run.parts, disposeParts);
  const stopped = run.result.stopped;
  if (stopped === 'pause' || stopped === 'shutdown') await s.records.interrupt(stopped, null);
  return run;
}
