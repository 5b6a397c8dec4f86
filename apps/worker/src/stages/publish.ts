// Stage: publish. The trained model is saved to S3, then registered with the
// job's results and its succeeded status in one transaction.
import { randomUUID } from 'node:crypto';
import type { LayersModel } from '@tensorflow/tfjs';
import { MODEL_JSON, s3IOHandler, WEIGHTS_FILE } from '../../../shared/ml/s3-io-handler.ts';
import { GRAPH_BASE_DIR, type GraphBaseRef } from '../../../shared/ml/model-format.ts';
import { savedModel } from '../pipeline/freeze.ts';
import { summarize } from '../../../shared/ml/model-summary.ts';
import { decodeLayers, toJson } from '../../../shared/jobs/decode.ts';
import type { Tx } from '../../../shared/jobs/job-store.ts';
import type { StageContext } from './context.ts';
import type { JobEvaluation, Trained } from './evaluate.ts';

/** `also`: more rows written in the same transaction (strategy auto's record). */
export async function publish(s: StageContext, trained: Trained, evaluation: JobEvaluation | null, also?: (tx: Tx) => Promise<unknown>): Promise<string> {
  const { main, features } = trained;
  const parts = trained.built.parts;
  const model = savedModel(parts);
  const modelId = randomUUID();
  const prefix = `models/${modelId}/`;
  if (parts.graphNode) await saveGraphBase(s, prefix, parts.graphNode);
  await model.save(s3IOHandler(s.run.storage, prefix));
  if (parts.graphNode) await markGraphHead(s, prefix, parts.graphNode);
  const row = { ...modelRow(s, model, modelId, prefix), ...(parts.graphNode ? graphHeadRow(s, parts.graphNode) : {}) };
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

/** A head on a Graph base is published with its graph beside it, under base/: the download is whole, whatever happens to the base's row. */
async function saveGraphBase(s: StageContext, prefix: string, node: string): Promise<void> {
  const from = s.job.baseModel!.storagePrefix;
  const storage = s.run.storage;
  await storage.put(prefix + GRAPH_BASE_DIR + WEIGHTS_FILE, await storage.getBytes(from + WEIGHTS_FILE));
  await storage.put(prefix + GRAPH_BASE_DIR + MODEL_JSON, await storage.getBytes(from + MODEL_JSON), 'application/json');
  s.log.info({ node }, 'graph base copied beside the head');
}

/** The head's model.json says which graph feeds it and from which node (docs/models.md). */
async function markGraphHead(s: StageContext, prefix: string, node: string): Promise<void> {
  const storage = s.run.storage;
  const json = JSON.parse(Buffer.from(await storage.getBytes(prefix + MODEL_JSON)).toString('utf8'));
  const graphBase: GraphBaseRef = { modelJson: GRAPH_BASE_DIR + MODEL_JSON, outputNode: node, baseModelId: s.job.baseModelId };
  await storage.put(prefix + MODEL_JSON, JSON.stringify({ ...json, graphBase }), 'application/json');
}

/** What the pair takes is the graph's input; its layers are the head's. */
function graphHeadRow(s: StageContext, node: string) {
  return { format: 'graph-head', graphOutput: node, inputShape: s.job.baseModel!.inputShape as Array<number | null> };
}

/** Of training's time (the base's feature pass and the epochs), the fraction spent waiting for shard reads. */
function dataWait(t: Trained): number {
  const total = t.main.wallTimeMs + (t.features?.ms ?? 0);
  return total > 0 ? t.dataWaitMs / total : 0;
}
