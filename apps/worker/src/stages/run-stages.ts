// What the worker does with a job, once it holds the job's lease: the stages,
// in order. Each is a small function in this folder with typed input and
// output; the seeded ones draw from the job's random stream in this order.
import { disposeParts } from '../pipeline/freeze.ts';
import { adviseStage } from './advise.ts';
import { autoStage } from './auto.ts';
import { withSeededRandom } from '../pipeline/seed.ts';
import { baseFeatures, disposeFeatures } from './base-features.ts';
import { baseline } from './baseline.ts';
import { buildParts } from './build.ts';
import type { RunResult, StageContext } from './context.ts';
import { evaluateStage, type Trained } from './evaluate.ts';
import { Owned } from './owned.ts';
import { prepareData, type Prepared } from './prepare-data.ts';
import { publish } from './publish.ts';
import { resumePoint } from './resume.ts';
import { settleFailure, settleStopped } from './settle.ts';
import { trainStage } from './train.ts';

export async function runStages(s: StageContext): Promise<RunResult> {
  const owned = new Owned();
  try {
    const prepared = owned.add(await prepareData(s), (p) => p.data.dispose());
    if (s.job.type === 'advice') return await adviseStage(s, prepared);
    if (s.spec.strategy === 'auto') return await autoStage(s, prepared);
    const trained = await withSeededRandom(s.spec.hyperparameters.seed, () => seededStages(s, prepared, owned));
    const stopped = trained.main.stopped ?? trained.baseline?.result.stopped;
    if (stopped) return await settleStopped(s, stopped);
    const evaluation = await evaluateStage(s, prepared, trained);
    await publish(s, trained, evaluation);
    return { outcome: 'succeeded' };
  } catch (err) {
    return await settleFailure(s, err);
  } finally {
    owned.dispose();
  }
}

const waits = (p: Prepared) => p.data.train.stats.waitMs + (p.data.validation?.stats.waitMs ?? 0);

/** Build → base features → resume → train → baseline. */
async function seededStages(s: StageContext, prepared: Prepared, owned: Owned): Promise<Trained> {
  const built = owned.add(await buildParts(s, prepared.data), (b) => disposeParts(b.parts));
  const features = owned.add(await baseFeatures(s, prepared, built), disposeFeatures);
  const resume = await resumePoint(s, built.parts);
  const main = await trainStage(s, prepared, built, features, resume);
  return { built, features, main, baseline: await baseline(s, prepared, built, main, owned), streamed: prepared.data.streamed, dataWaitMs: waits(prepared) };
}
