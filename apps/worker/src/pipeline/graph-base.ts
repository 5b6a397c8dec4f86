// A TensorFlow.js Graph model as a frozen base (docs/models.md). The graph
// runs inside a layer whose call() executes it up to the cut node, so the
// base, the head and the whole model are LayersModels and every stage (the
// feature pass and its cache, training's fast path, scoring) works as for a
// LayersModel base. Only the head has weights to learn: it alone is
// checkpointed and published, with the graph beside it.
import type { GraphModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { modelDigest } from '../../../shared/ml/model-digest.ts';
import { filesIOHandler, readModelFiles } from '../../../shared/ml/s3-io-handler.ts';
import type { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import type { LayerSummary } from '../../../shared/ml/model-summary.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { LayerSpec } from '../../../shared/jobs/spec.ts';
import { freeze, type ModelParts } from './freeze.ts';
import { GRAPH_CHUNK } from '../../../shared/ml/graph-memory.ts';

/** The graph run up to one node: no weights tfjs' layers know of, nothing to train. */
export class GraphBaseLayer extends tf.layers.Layer {
  static className = 'GraphBase';

  /** `chunk`: the most rows one run of the graph takes (graph-memory.ts safeChunk): a larger batch is run in pieces. */
  constructor(private readonly graph: GraphModel, private readonly node: string, private readonly nodeShape: Array<number | null>, private readonly chunk = GRAPH_CHUNK) {
    super({ name: 'graph_base', trainable: false });
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const batch = (Array.isArray(inputShape[0]) ? (inputShape[0] as tf.Shape)[0] : inputShape[0]) as number | null;
    return [batch, ...this.nodeShape.slice(1)];
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // Synchronous: registration refused graphs that need executeAsync (graph-summary.ts).
    const rows = x.shape[0];
    if (rows <= this.chunk) return this.graph.execute(x, this.node) as Tensor;
    // A training batch (up to 8192 rows) or a caller's chunk past the memory budget: in pieces.
    return tf.tidy(() => {
      const sizes = Array.from({ length: Math.ceil(rows / this.chunk) }, (_, i) => Math.min(this.chunk, rows - i * this.chunk));
      return tf.concat(tf.split(x, sizes).map((piece) => this.graph.execute(piece, this.node) as Tensor));
    });
  }

  dispose() {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0) this.graph.dispose();
    return result;
  }
}

export interface LoadedGraph {
  graph: GraphModel;
  /** sha256 of the topology, the weights manifest and the weights (model-digest.ts): part of the feature cache's key. */
  digest: string;
}

/** Reads the graph from our storage (checked as data), builds it in the inspector's child first when a user brought it, then here. */
export async function loadGraph(storage: Storage, prefix: string, inspector?: ModelInspector): Promise<LoadedGraph> {
  const files = await readModelFiles(storage, prefix);
  if (files.modelJson.format !== 'graph-model') throw new UnprocessableError('model_invalid', 'The stored base is not a TensorFlow.js Graph model');
  if (inspector) await inspector.inspect(files);
  const digest = modelDigest(files);
  return { graph: await tf.loadGraphModel(filesIOHandler(files)), digest };
}

export interface GraphPartsOptions {
  /** The node the head reads (the planner resolved it: the graph's output by default). */
  node: string;
  /** The base's rows as registered: the graph's nodes and their output shapes. */
  nodes: LayerSummary[];
  inputShape: Array<number | null>;
  head: LayerSpec[];
  numClasses: number;
  /** The most rows one run of the graph takes (safeChunk, from MODEL_INSPECT_MEMORY_MB). @defaultValue GRAPH_CHUNK */
  chunk?: number;
}

/** Input → graph (to the node) → head; freeze "all", the head is what is saved. */
export function graphParts(graph: GraphModel, opts: GraphPartsOptions): ModelParts {
  const row = opts.nodes.find((n) => n.name === opts.node);
  if (!row) throw new UnprocessableError('cut_layer_not_found', `The graph has no node ${JSON.stringify(opts.node)}`, { cutLayer: opts.node });
  const input = tf.input({ shape: opts.inputShape.slice(1) as number[], name: 'graph_input' });
  const features = new GraphBaseLayer(graph, opts.node, row.outputShape as Array<number | null>, opts.chunk).apply(input) as tf.SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: features });
  const parts = freeze(base, { cutLayer: 'graph_base', head: opts.head, freeze: 'all', numClasses: opts.numClasses });
  // The feature cache is keyed by the node, not by our wrapper layer's name.
  return { ...parts, cutLayer: opts.node, saved: parts.head, graphNode: opts.node };
}
