// Stage: publish. The trained model is saved to S3, then registered with the
// job's results and its succeeded status in one transaction.
import { randomUUID } from 'node:crypto';
import type { LayersModel } from '@tensorflow/tfjs';
import { s3IOHandler } from '../../../shared/ml/s3-io-handler.ts';
import { summarize } from '../../../shared/ml/model-summary.ts';
import { decodeLayers, toJson } from '../../../shared/jobs/decode.ts';
import type { Tx } from '../../../shared/jobs/job-store.ts';
import type { StageContext } from './context.ts';
import type { JobEvaluation, Trained } from './evaluate.ts';

/** `also`: more rows written in the same transaction (strategy auto's record). */
export async function publish(s: StageContext, trained: Trained, evaluation: JobEvaluation | null, also?: (tx: Tx) => Promise<unknown>): Promise<string> {
  const { main, features } = trained;
  const model = trained.built.parts.model;
  const modelId = randomUUID();
  const prefix = `models/${modelId}/`;
  await model.save(s3IOHandler(s.run.storage, prefix));
  const row = modelRow(s, model, modelId, prefix);
  await s.records.finishSucceeded(async (tx) => {
    await tx.model.create({ data: row });
    await also?.(tx);
  }, {
    evaluation,
    bestCheckpoint: main.best
      ? {
          ...main.best, earlyStopped: main.earlyStopped, fastPath: main.fastPath, threads: main.threads, featureCache: features?.cache ?? null,
          streamed: trained.streamed, featurePassMs: features ? Math.round(features.ms) : undefined, featuresPerBatch: main.featuresPerBatch, dataWaitFraction: dataWait(trained),
        }
      : undefined,
  });
  s.log.info({ modelId, accuracy: evaluation?.accuracy, bestEpoch: main.best?.epoch }, 'job succeeded');
  return modelId;
}

function modelRow(s: StageContext, model: LayersModel, modelId: string, prefix: string) {
  const { job, spec, jobId } = s;
  const summary = summarize(model);
  return {
    id: modelId,
    name: spec.name ?? `${job.type === 'pretrain' ? 'pretrained' : 'fine-tuned'} ${jobId.slice(0, 8)}`,
    kind: job.type === 'pretrain' ? ('base' as const) : ('fine_tuned' as const),
    storagePrefix: prefix,
    inputShape: summary.inputShape,
    outputShape: summary.outputShape,
    layers: toJson(decodeLayers, summary.layers),
    labels: spec.labels,
    totalParams: summary.totalParams,
    trainableParams: summary.trainableParams,
    parentId: job.baseModelId,
    jobId,
    tenantId: job.tenantId,
  };
}

/** Of training's time (the base's feature pass and the epochs), the fraction spent waiting for shard reads. */
function dataWait(t: Trained): number {
  const total = t.main.wallTimeMs + (t.features?.ms ?? 0);
  return total > 0 ? t.dataWaitMs / total : 0;
}
