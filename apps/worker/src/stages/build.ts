// Stage: build. Fine-tuning loads the base, cuts it and puts the head on top
// (stages load and freeze); pretraining builds the architecture from scratch.
import { UnprocessableError } from '../../../shared/errors.ts';
import type { JobData } from '../job-data.ts';
import { buildModel, buildPresetModel } from '../pipeline/build.ts';
import { freeze, type ModelParts } from '../pipeline/freeze.ts';
import { loadModel } from '../pipeline/load.ts';
import { graphParts, loadGraph } from '../pipeline/graph-base.ts';
import { decodeLayers, decodeShape } from '../../../shared/jobs/decode.ts';
import { DEFAULT_GRAPH_BUDGET_MB, safeChunk } from '../../../shared/ml/graph-memory.ts';
import { tf } from '../../../shared/ml/tf.ts';
import type { StageContext } from './context.ts';

export interface Built {
  parts: ModelParts;
  /** The base's content address (fine-tuning only): part of the feature cache's key. */
  baseDigest?: string;
}

export async function buildParts(s: StageContext, data: JobData): Promise<Built> {
  const { job, spec } = s;
  if (job.type !== 'finetune') {
    const arch = spec.architecture ?? [];
    const parts = Array.isArray(arch) ? buildModel(data.featureShape, arch, spec.labels.length) : await buildPresetModel(data.featureShape, arch, spec.labels.length);
    return { parts };
  }
  if (!job.baseModel) throw new UnprocessableError('model_not_found', 'The base model no longer exists');
  await s.records.setStage('load');
  if (job.baseModel.format === 'graph-model') return buildGraphParts(s);
  // A registered base came from a user (sourceUri); pretrained and fine-tuned ones, from us.
  const base = await loadModel(s.run.storage, job.baseModel.storagePrefix, job.baseModel.sourceUri ? s.run.inspector : undefined);
  await s.records.setStage('freeze');
  const parts = freeze(base.model, { cutLayer: spec.cutLayer, head: spec.head, freeze: spec.freeze, numClasses: spec.labels.length });
  return { parts, baseDigest: base.digest };
}

/** A Graph model base (graph-base.ts): frozen, the head on the node the planner chose. */
async function buildGraphParts(s: StageContext): Promise<Built> {
  const { spec } = s;
  const baseModel = s.job.baseModel!;
  const { graph, digest } = await loadGraph(s.run.storage, baseModel.storagePrefix, baseModel.sourceUri ? s.run.inspector : undefined);
  await s.records.setStage('freeze');
  try {
    const nodes = decodeLayers(baseModel.layers, baseModel.id);
    const inputShape = decodeShape(baseModel.inputShape, baseModel.id);
    // The inspector's memory budget bounds one run of the graph here too (graph-memory.ts).
    const budgetBytes = (s.run.inspector?.limits.memoryMb ?? DEFAULT_GRAPH_BUDGET_MB) * 2 ** 20;
    const chunk = await safeChunk(tf, graph, inputShape.slice(1) as number[], spec.cutLayer!, budgetBytes);
    const opts = { node: spec.cutLayer!, nodes, inputShape, head: spec.head, numClasses: spec.labels.length, chunk };
    return { parts: graphParts(graph, opts), baseDigest: digest };
  } catch (err) {
    graph.dispose();
    throw err;
  }
}
