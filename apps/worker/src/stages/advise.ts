// An advice job's one stage: the base and a sample of the training data
// measured by the advisor (../advice/), a cut's activations read through the
// frozen-base feature cache, and the result stored beside the job as it
// succeeds. No model is published.
import type { Tensor } from '@tensorflow/tfjs';
import { UnprocessableError } from '../../../shared/errors.ts';
import { advise } from '../advice/measure.ts';
import { baseUpTo } from '../advice/features.ts';
import { cachedFeatures, featureKey } from '../feature-cache.ts';
import { examplesDigest } from '../job-data.ts';
import { loadModel } from '../pipeline/load.ts';
import type { RunResult, StageContext } from './context.ts';
import type { Prepared } from './prepare-data.ts';

export async function adviseStage(s: StageContext, prepared: Prepared): Promise<RunResult> {
  const { job, spec } = s;
  if (!job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
  await s.records.setStage('load');
  const base = await loadModel(s.run.storage, job.baseModel.storagePrefix, job.baseModel.sourceUri ? s.run.inspector : undefined);
  const budget = spec.advice ?? { sampleSize: 1000, maxCuts: 2 };
  let featurePasses = 0;
  try {
    const features = async (layer: string, x: Tensor): Promise<Tensor> => {
      const data = (await x.data()) as Float32Array;
      const key = featureKey({ modelDigest: base.digest, cutLayer: layer, train: examplesDigest(data, x.shape) });
      const cut = { base: baseUpTo(base.model, layer), head: base.model, baseBlocks: [] };
      const got = await cachedFeatures(s.run.storage, cut, { train: x }, key);
      if (!got.hit) featurePasses++;
      const flat = got.features.train.reshape([x.shape[0], -1]);
      if (flat !== got.features.train) got.features.train.dispose();
      return flat;
    };
    const { train } = prepared.data;
    const advice = await advise({
      base: base.model, x: train.x, classes: train.classes, numClasses: spec.labels.length, seed: spec.hyperparameters.seed,
      sampleSize: budget.sampleSize, maxCuts: budget.maxCuts, epochs: budget.epochs, headWeightedLayers: spec.head.filter((l) => l.type === 'dense' || l.type === 'conv2d').length, features,
    });
    await s.records.finishSucceeded((tx) => tx.jobAdvice.create({ data: { jobId: s.jobId, advice: { ...advice, featurePasses } } }), {});
    s.log.info({ recommended: advice.recommended, featurePasses }, 'advice succeeded');
    return { outcome: 'succeeded' };
  } finally {
    base.model.dispose();
  }
}
