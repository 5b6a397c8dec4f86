// An advice job's one stage: the base and a sample of the training data
// measured by the advisor (../advice/), a cut's activations read through the
// frozen-base feature cache, and the result stored beside the job as it
// succeeds. No model is published. A cancel stops it between cuts.
import type { Tensor } from '@tensorflow/tfjs';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { Advice } from '../../../shared/jobs/advice.ts';
import { advise, AdviceStopped } from '../advice/measure.ts';
import { stratifiedSample } from '../advice/data-stats.ts';
import { seededRandom } from '../../../shared/seeded-random.ts';
import { baseUpTo } from '../advice/features.ts';
import { cachedFeatures, featureKey } from '../feature-cache.ts';
import { examplesDigest } from '../job-data.ts';
import { loadModel, type LoadedModel } from '../pipeline/load.ts';
import { tensorSplit, type ExampleSplit } from '../pipeline/splits.ts';
import { tf } from '../../../shared/ml/tf.ts';
import type { RunResult, StageContext } from './context.ts';
import type { Prepared } from './prepare-data.ts';
import { settleStopped } from './settle.ts';

export async function adviseStage(s: StageContext, prepared: Prepared): Promise<RunResult> {
  if (!s.job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
  await s.records.setStage('load');
  const base = await loadModel(s.run.storage, s.job.baseModel.storagePrefix, s.job.baseModel.sourceUri ? s.run.inspector : undefined);
  try {
    const { advice, featurePasses } = await measureAdvice(s, prepared, base);
    await s.records.finishSucceeded((tx) => tx.jobAdvice.create({ data: { jobId: s.jobId, advice: { ...advice, featurePasses } } }), {});
    s.log.info({ recommended: advice.recommended, featurePasses }, 'advice succeeded');
    return { outcome: 'succeeded' };
  } catch (err) {
    if (err instanceof AdviceStopped) return settleStopped(s, err.reason);
    throw err;
  } finally {
    base.model.dispose();
  }
}

/**
 * The advisor on a sample of the job's training data, each cut's activations through the feature cache;
 * a cancel is honoured between cuts (AdviceStopped). Also the first step of `strategy: "auto"`.
 */
export async function measureAdvice(s: StageContext, prepared: Prepared, base: LoadedModel): Promise<{ advice: Advice; featurePasses: number }> {
  const { spec } = s;
  const budget = spec.advice ?? { sampleSize: 1000, maxCuts: 2 };
  let featurePasses = 0;
  const features = async (layer: string, x: Tensor): Promise<Tensor> => {
    const data = (await x.data()) as Float32Array;
    const key = featureKey({ modelDigest: base.digest, cutLayer: layer, train: examplesDigest(data, x.shape) });
    const cut = { base: baseUpTo(base.model, layer), head: base.model, baseBlocks: [] };
    // Only the inputs are read: the feature pass needs no labels.
    const got = await cachedFeatures(s.run.storage, cut, { train: tensorSplit(x, new Int32Array(x.shape[0]), 1) }, key);
    if (!got.hit) featurePasses++;
    const flat = got.features.train.reshape([x.shape[0], -1]);
    if (flat !== got.features.train) got.features.train.dispose();
    return flat;
  };
  const { train } = prepared.data;
  const sample = await adviceSample(train, budget.sampleSize, spec.labels.length, spec.hyperparameters.seed);
  try {
    const advice = await advise({
      base: base.model, x: sample.x, classes: sample.classes, allClasses: train.classes, numClasses: spec.labels.length, seed: spec.hyperparameters.seed,
      sampleSize: budget.sampleSize, maxCuts: budget.maxCuts, epochs: budget.epochs, batchSize: spec.hyperparameters.batchSize,
      headWeightedLayers: spec.head.filter((l) => l.type === 'dense' || l.type === 'conv2d').length, features, shouldStop: s.stopFor(['cancel']),
    });
    return { advice, featurePasses };
  } finally {
    if (sample.x !== train.tensor) sample.x.dispose();
  }
}

/**
 * The split itself when it is in memory; else a stratified seeded sample of `n` of its examples (chosen
 * from the classes, which are known for every example), read in one pass in storage order: a folder-
 * layout dataset is stored class by class, so the first shards of any order would miss classes.
 */
async function adviceSample(split: ExampleSplit, n: number, numClasses: number, seed: number): Promise<{ x: Tensor; classes: Int32Array }> {
  if (split.tensor) return { x: split.tensor, classes: split.classes };
  const wanted = new Uint8Array(split.numExamples);
  for (const i of stratifiedSample(split.classes, numClasses, n, seededRandom(seed))) wanted[i] = 1;
  const xs: Tensor[] = [];
  const classes: number[] = [];
  for await (const b of split.batches({ batchSize: 256, seed, epoch: 0, shuffle: false })) {
    const rows = Array.from(b.ids.keys()).filter((k) => wanted[b.ids[k]] === 1);
    if (rows.length > 0) {
      xs.push(tf.tidy(() => tf.gather(b.x, tf.tensor1d(rows, 'int32'))));
      for (const k of rows) classes.push(b.classes[k]);
    }
    tf.dispose([b.x, b.y]);
  }
  const x = tf.concat(xs);
  tf.dispose(xs);
  return { x, classes: Int32Array.from(classes) };
}
