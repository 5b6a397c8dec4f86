// Stage: base features. A base frozen throughout training (the same rule as
// training's fast path) runs once over the data (read in batches, streamed
// when large); with augmentation it runs per augmented batch in training instead; its outputs come from the
// feature cache, or are computed and cached, and are handed to training.
import { tf } from '../../../shared/ml/tf.ts';
import { cachedFeatures, featureKey, type Features } from '../feature-cache.ts';
import { augments } from '../pipeline/augment.ts';
import { frozenThroughout } from '../pipeline/freeze.ts';
import type { Built } from './build.ts';
import type { StageContext } from './context.ts';
import { recordFeatures } from '../sweep-trial.ts';
import type { Prepared } from './prepare-data.ts';
import { jobPeers } from './train.ts';

export interface BaseFeatures {
  features: Features;
  cache: 'hit' | 'miss';
  /** Time spent getting them: it counts towards fine-tuning's wall time. */
  ms: number;
}

export async function baseFeatures(s: StageContext, prepared: Prepared, built: Built): Promise<BaseFeatures | null> {
  const { parts, baseDigest } = built;
  if (!baseDigest || augments(s.spec.hyperparameters.augmentation) || !frozenThroughout(parts.freeze, parts.baseBlocks.length, s.spec.hyperparameters.epochs)) return null;
  const started = performance.now();
  const { data } = prepared;
  const peers = jobPeers(prepared, built);
  const key = featureKey({ modelDigest: baseDigest, cutLayer: parts.cutLayer!, train: data.train.digest, validation: data.validation?.digest });
  const got = await cachedFeatures(s.run.storage, parts, { train: data.train, validation: data.validation }, key, {
    peers,
    onWriteError: async (err) => {
      s.run.log.warn({ err: err.message, key }, 'could not cache base features');
      await s.records.event('warning', { message: 'The base features could not be cached; later jobs will compute them again' });
    },
  });
  if (s.job.sweepId) await recordFeatures(s, s.job.sweepId, got.hit ? 'hit' : 'miss');
  return { features: got.features, cache: got.hit ? 'hit' : 'miss', ms: performance.now() - started };
}

export function disposeFeatures(f: BaseFeatures): void {
  tf.dispose([f.features.train, ...(f.features.validation ? [f.features.validation] : [])]);
}
