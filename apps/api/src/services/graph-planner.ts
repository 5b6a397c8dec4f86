// Planning a finetune job on a TensorFlow.js Graph model base (docs/models.md):
// the graph is a frozen base, so freeze is "all"; the head sits on the graph's
// output, or on the node cutLayer names. The node rows (and their shapes) were
// recorded when the model was registered (graph-summary.ts): nothing is loaded.
import { UnprocessableError } from '../../../shared/errors.ts';
import type { CreateJob } from '../../../shared/jobs/spec.ts';
import type { LayerSummary } from '../../../shared/ml/model-summary.ts';

type Shape = Array<number | null>;

/** The node the head reads, and its output shape ([null, ...]). */
export function graphCut(body: Pick<CreateJob, 'freeze' | 'cutLayer' | 'compareWithScratch'>, nodes: LayerSummary[]): { node: string; shape: Shape } {
  if (body.freeze !== 'all') {
    throw new UnprocessableError('graph_base_frozen', 'The base is a TensorFlow.js Graph model: its weights are constants of the graph, which tfjs cannot train, so freeze must be "all"', { freeze: body.freeze });
  }
  if (body.compareWithScratch) {
    throw new UnprocessableError('graph_base_frozen', 'The base is a TensorFlow.js Graph model: there is no architecture to train from scratch, so compareWithScratch is not available', { option: 'compareWithScratch' });
  }
  const names = nodes.map((n) => n.name);
  if (typeof body.cutLayer === 'number') {
    throw new UnprocessableError('cut_layer_not_found', 'On a Graph model base, cutLayer names a graph node (or is left out for the graph\'s output)', { cutLayer: body.cutLayer, nodes: names.slice(-100) });
  }
  // The graph's output is the last row.
  const row = body.cutLayer === undefined ? nodes[nodes.length - 1] : nodes.find((n) => n.name === body.cutLayer);
  if (!row) {
    throw new UnprocessableError('cut_layer_not_found', `${JSON.stringify(body.cutLayer)} is not one of the graph's ${names.length} cut candidates (the model's layers): a node that exists but is a constant or shape op, has no float32 row per example, or lies beyond the MAX_MODEL_LAYERS nodes nearest the output is not one`, { cutLayer: body.cutLayer, nodes: names.slice(-100) });
  }
  return { node: row.name, shape: row.outputShape as Shape };
}
