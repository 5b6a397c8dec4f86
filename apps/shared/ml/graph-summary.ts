// A TensorFlow.js Graph model, built by tfjs and run once on zeros (in the
// model inspector's child): its input, and the output shape of each node a
// head may sit on. The rows take the place of a LayersModel's layers in the
// Model row, so the planner checks a head on a graph node without tfjs. The
// graph's output is the last row: a job's default cut.
import type * as tfjs from '@tensorflow/tfjs';
import { UnprocessableError } from '../errors.ts';
import type { LayerSummary, ModelSummary } from './model-summary.ts';
import { checkGraphMemory } from './graph-memory.ts';

/** Nodes that are no place for a head: constants, plumbing, control flow, shape arithmetic. */
const NOT_OUTPUTS = new Set([
  'Const', 'NoOp', 'Placeholder', 'PlaceholderWithDefault', 'Enter', 'Exit', 'Merge', 'Switch', 'NextIteration', 'LoopCond',
  'Shape', 'ShapeN', 'Size', 'Rank', 'Assert', 'Print',
]);

/** Nodes whose shapes are recorded when no MAX_MODEL_LAYERS is given: a MobileNet has a few hundred. */
export const MAX_GRAPH_OUTPUTS = 5000;

const refuse = (fault: string, message: string, details: Record<string, unknown> = {}): never => {
  throw new UnprocessableError('model_unsupported', message, { fault, ...details });
};

const nodeName = (tensorName: string) => tensorName.replace(/:0$/, '');

function checkInput(model: tfjs.GraphModel): number[] {
  const inputs = model.inputs;
  const input = inputs[0];
  const dims = input?.shape?.slice(1) ?? [];
  if (inputs.length !== 1 || input.dtype !== 'float32' || !input.shape || input.shape.length < 2 || dims.some((d) => !(d > 0))) {
    refuse('graph_input', 'A Graph model base needs one float32 input of a fixed shape apart from the batch (for example [-1, 224, 224, 3])', {
      inputs: inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape ?? null })),
    });
  }
  return dims;
}

/** Each candidate node's output shape for a batch of `batch` zeros. */
function shapesAt(tf: typeof tfjs, model: tfjs.GraphModel, dims: number[], batch: number, names: string[]): Map<string, { shape: number[]; dtype: string }> {
  const x = tf.zeros([batch, ...dims]);
  try {
    const out = model.execute(x, names);
    const list = Array.isArray(out) ? out : [out];
    const shapes = new Map(names.map((n, i) => [n, { shape: list[i].shape, dtype: list[i].dtype as string }]));
    tf.dispose(list);
    return shapes;
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    // A layer's call() is synchronous: control flow and dynamic ops cannot run in one.
    if (/executeAsync/.test(message)) refuse('graph_dynamic', 'The graph has control flow or dynamic ops (it needs executeAsync); only graphs that run synchronously can be frozen bases');
    throw err;
  } finally {
    x.dispose();
  }
}

/**
 * `budgetBytes`: the memory one example may need (graph-memory.ts). `maxRows` (MAX_MODEL_LAYERS): the candidate
 * nodes recorded, those nearest the output, as a LayersModel's layers are capped.
 */
export async function graphSummary(tf: typeof tfjs, model: tfjs.GraphModel, topology: { node?: Array<{ name: string; op: string }> }, budgetBytes: number, maxRows = MAX_GRAPH_OUTPUTS): Promise<ModelSummary> {
  const dims = checkInput(model);
  const output = nodeName(model.outputs[0]?.name ?? refuse('graph_output', 'The graph has no output'));
  if (model.outputs.length !== 1) refuse('graph_output', 'A Graph model base has one output: its features (or give a cutLayer naming a node)', { outputs: model.outputs.map((o) => o.name) });
  const ops = new Map((topology.node ?? []).map((n) => [n.name, n.op]));
  const candidates = [...ops].filter(([name, op]) => !NOT_OUTPUTS.has(op) && name !== output).map(([name]) => name);
  // The output is a row too: at most maxRows in all.
  const names = candidates.slice(Math.max(0, candidates.length - (Math.min(maxRows, MAX_GRAPH_OUTPUTS) - 1)));
  names.push(output);
  // Two batch sizes tell a batch dimension from a dimension that happens to equal the batch.
  const [two, three] = [shapesAt(tf, model, dims, 2, names), shapesAt(tf, model, dims, 3, names)];
  const rows: LayerSummary[] = [];
  for (const name of names) {
    const a = two.get(name)!;
    const b = three.get(name)!;
    const batched = a.dtype === 'float32' && a.shape.length >= 2 && a.shape[0] === 2 && b.shape[0] === 3 && a.shape.slice(1).every((d, i) => d === b.shape[i + 1]);
    if (batched) rows.push({ name, className: ops.get(name) ?? 'Identity', trainable: false, params: 0, outputShape: [null, ...a.shape.slice(1)] });
    else if (name === output) refuse('graph_output', `The graph's output ${JSON.stringify(output)} is not a float32 tensor with one row per example`, { output, shape: a.shape, dtype: a.dtype });
  }
  await checkGraphMemory(tf, model, dims, rows.map((r) => r.name), budgetBytes);
  const totalParams = Object.values(model.weights).flat().filter((t) => t.dtype === 'float32').reduce((sum, t) => sum + t.size, 0);
  return { layers: rows, inputShape: [null, ...dims], outputShape: rows[rows.length - 1].outputShape as Array<number | null>, totalParams, trainableParams: 0 };
}
