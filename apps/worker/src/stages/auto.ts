// A finetune job with `strategy: "auto"`: the advisor measures the base on the
// job's data (as an advice job does), the best few of its options are trained
// with the job's own stages (build, base features, train: frozen options at one
// cut share one feature pass through the feature cache), the best on
// validation is evaluated and published as the job's output model, and every
// option considered is recorded beside the job (JobAdvice.auto). Options are
// not checkpointed: an attempt that is interrupted starts over, the advice's
// cuts and the frozen features then coming from the cache.
import type { Advice, AdviceOption, AutoRecord } from '../../../shared/jobs/advice.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import { decodeLayers } from '../../../shared/jobs/decode.ts';
import { defaultHead, resolveCutLayer } from '../../../shared/ml/cut-layer.ts';
import type { LayerSummary } from '../../../shared/ml/model-summary.ts';
import type { JobSpec } from '../../../shared/jobs/spec.ts';
import { winner } from '../advice/auto.ts';
import { autoRounds } from '../advice/auto-run.ts';
import { AdviceStopped } from '../advice/measure.ts';
import { trainFromScratch } from '../pipeline/compare.ts';
import { disposeParts } from '../pipeline/freeze.ts';
import { loadModel } from '../pipeline/load.ts';
import { withSeededRandom } from '../pipeline/seed.ts';
import { train, type StopReason, type TrainResult } from '../pipeline/train.ts';
import { measureAdvice } from './advise.ts';
import { baseFeatures, disposeFeatures, type BaseFeatures } from './base-features.ts';
import { buildParts, type Built } from './build.ts';
import type { RunResult, StageContext } from './context.ts';
import { evaluateStage } from './evaluate.ts';
import type { Prepared } from './prepare-data.ts';
import { publish } from './publish.ts';
import { settleStopped } from './settle.ts';
import { jobAugment, jobPeers, STOPS, trainData } from './train.ts';

interface Candidate {
  option: AdviceOption;
  built: Built;
  features: BaseFeatures | null;
  result: TrainResult;
  valAccuracy: number;
}

/**
 * The job's spec as one option trains it: the option's cut, freeze and hyperparameters; the model kept is the best
 * epoch on validation. The head was planned for the default cut, and an option's cut may be a conv map where the
 * default's is a vector, so it is the default head for the option's cut (auto refuses a head of the user's).
 */
export function optionSpec(spec: JobSpec, o: AdviceOption, baseLayers: LayerSummary[]): JobSpec {
  const hp = { ...spec.hyperparameters, ...o.hyperparameters, bestCheckpointMetric: spec.hyperparameters.bestCheckpointMetric ?? ('valAccuracy' as const) };
  const cutLayer = o.cutLayer ?? spec.cutLayer;
  const cut = baseLayers.find((l) => l.name === resolveCutLayer(baseLayers.map((x) => x.name), cutLayer));
  const head = cut ? defaultHead(cut.outputShape as Array<number | null>, spec.labels.length) : spec.head;
  return { ...spec, cutLayer, head, freeze: o.freeze, compareWithScratch: false, hyperparameters: hp };
}

const baseLayers = (s: StageContext): LayerSummary[] => decodeLayers(s.job.baseModel!.layers, s.job.baseModel!.id);

const dispose = (c: Candidate) => {
  disposeParts(c.built.parts);
  if (c.features) disposeFeatures(c.features);
};

async function trainOption(s: StageContext, prepared: Prepared, option: AdviceOption): Promise<Candidate> {
  const so: StageContext = { ...s, spec: optionSpec(s.spec, option, baseLayers(s)) };
  const hp = so.spec.hyperparameters;
  const hooks = { shouldStop: s.stopFor(STOPS), onEpochEnd: async () => undefined };
  let built = await buildParts(so, prepared.data);
  const opts = { hp, labels: so.spec.labels, peers: jobPeers(prepared, built), augment: jobAugment(so) };
  let features: BaseFeatures | null = null;
  try {
    let result: TrainResult;
    await s.records.setStage('train');
    if (option.strategy === 'scratch') {
      // The same architecture (base up to the cut, and the head) from random initialisation.
      const run = await trainFromScratch(built.parts.model, trainData(prepared.data), opts, hooks);
      disposeParts(built.parts);
      built = { parts: run.parts };
      result = run.result;
    } else {
      features = await baseFeatures(so, prepared, built);
      result = await train(built.parts, trainData(prepared.data), { ...opts, features: features?.features }, hooks);
    }
    const kept = result.epochs.find((e) => e.epoch === result.best?.epoch) ?? result.epochs.at(-1);
    return { option, built, features, result, valAccuracy: kept?.valAccuracy ?? 0 };
  } catch (err) {
    disposeParts(built.parts);
    if (features) disposeFeatures(features);
    throw err;
  }
}

function record(advice: Advice, tried: Candidate[], won: Candidate, featurePasses: number, refined: Map<string, number>): AutoRecord {
  const byId = new Map(tried.map((c) => [c.option.id, c]));
  const options = advice.options.map((o): AutoRecord['options'][number] => {
    const c = byId.get(o.id);
    const refinedValAccuracy = refined.get(o.id) ?? o.expectedValAccuracy;
    if (!c) return { id: o.id, expectedValAccuracy: o.expectedValAccuracy, refinedValAccuracy, compute: o.compute, trained: false };
    const epochsRun = c.result.epochs.length;
    return {
      id: o.id, expectedValAccuracy: o.expectedValAccuracy, refinedValAccuracy, compute: o.compute, trained: true, measuredValAccuracy: c.valAccuracy, epochsRun,
      computeUsed: Math.round((o.compute * epochsRun) / o.hyperparameters.epochs), ...(c.features ? { featureCache: c.features.cache } : {}),
    };
  });
  return {
    winner: won.option.id, recommended: advice.recommended, options, featurePasses,
    compute: { used: options.reduce((a, o) => a + (o.computeUsed ?? 0), 0), allOptions: advice.options.reduce((a, o) => a + o.compute, 0) },
  };
}

/** A trained option answered a stop request (cancel, pause, shutdown, a lost lease). */
class OptionStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`stopped: ${reason}`);
  }
}

export async function autoStage(s: StageContext, prepared: Prepared): Promise<RunResult> {
  if (!s.job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
  await s.records.setStage('load');
  const base = await loadModel(s.run.storage, s.job.baseModel.storagePrefix, s.job.baseModel.sourceUri ? s.run.inspector : undefined);
  let measured: Measured;
  try {
    measured = await measureAdvice(s, prepared, base);
  } catch (err) {
    if (err instanceof AdviceStopped) return settleStopped(s, err.reason);
    throw err;
  } finally {
    base.model.dispose();
  }
  const tried: Candidate[] = [];
  let best: Candidate | null = null;
  let featurePasses = 0;
  try {
    const rounds = await autoRounds(measured.advice, async (option) => {
      // Each option seeded alike: the same initialisation, dropout and order as a job of its own.
      const c = await withSeededRandom(s.spec.hyperparameters.seed, () => trainOption(s, prepared, option));
      if (c.features?.cache === 'miss') featurePasses++;
      if (c.result.stopped) {
        dispose(c);
        throw new OptionStopped(c.result.stopped);
      }
      tried.push(c);
      s.log.info({ option: option.id, expected: option.expectedValAccuracy, valAccuracy: c.valAccuracy }, 'auto: option trained');
      // Only the best so far stays in memory (winner()'s order: validation accuracy, then the less compute).
      if (best && winner([best, c]) === best) dispose(c);
      else {
        if (best) dispose(best);
        best = c;
      }
      return c.valAccuracy;
    });
    // secondRound trains a fallback when round one is empty, so only an advice with no option at all gets here.
    if (!best) throw new Error('auto: the advisor offered no option to train');
    return await finish(s, prepared, measured, tried, best, featurePasses, rounds.refined);
  } catch (err) {
    if (err instanceof OptionStopped) return await stopped(s, err.reason);
    throw err;
  } finally {
    if (best) dispose(best);
  }
}

async function stopped(s: StageContext, reason: StopReason): Promise<RunResult> {
  // Not checkpointed: a paused or handed-back auto job starts over (its cuts and features then come from the cache).
  if (reason === 'pause' || reason === 'shutdown') await s.records.interrupt(reason, null);
  return settleStopped(s, reason);
}

type Measured = Awaited<ReturnType<typeof measureAdvice>>;

async function finish(s: StageContext, prepared: Prepared, measured: Measured, tried: Candidate[], best: Candidate, featurePasses: number, refined: Map<string, number>): Promise<RunResult> {
  const { advice } = measured;
  const so: StageContext = { ...s, spec: optionSpec(s.spec, best.option, baseLayers(s)) };
  const trained = { built: best.built, features: best.features, main: best.result, baseline: null, streamed: prepared.data.streamed, dataWaitMs: 0 };
  const evaluation = await evaluateStage(so, prepared, trained);
  const auto = record(advice, tried, best, featurePasses, refined);
  await publish(so, trained, evaluation, (tx) => tx.jobAdvice.create({ data: { jobId: s.jobId, advice: { ...advice, featurePasses: measured.featurePasses }, auto } }));
  s.log.info({ winner: auto.winner, used: auto.compute.used, allOptions: auto.compute.allOptions }, 'auto: winner published');
  return { outcome: 'succeeded' };
}
