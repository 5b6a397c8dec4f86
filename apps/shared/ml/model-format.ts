// What a stored model's files are (the Model row's `format`), shared by the
// API (planning, downloads) and the worker (load, publish). docs/models.md.

/**
 * layers-model: model.json + weights.bin of a tfjs LayersModel.
 * graph-model: a tfjs Graph model (tfjs-converter output), a frozen base only.
 * graph-head: a job's output on a Graph base: the head as a LayersModel (its
 * input is the graph node `graphOutput`), with the base graph under base/.
 */
export const MODEL_FORMATS = ['layers-model', 'graph-model', 'graph-head'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** Where a graph-head model keeps its base graph, beside the head's files. */
export const GRAPH_BASE_DIR = 'base/';

/** Written into a graph-head's model.json: what a user needs to run the pair. */
export interface GraphBaseRef {
  /** The base graph's model.json, relative to the head's. */
  modelJson: string;
  /** The graph node whose output the head takes. */
  outputNode: string;
  baseModelId: string | null;
}
