// Checks a TensorFlow.js Graph model's model.json (tfjs-converter output:
// `format: "graph-model"`, a GraphDef as JSON, a weights manifest) as data,
// without tfjs: every node's op (and every op of the graph's functions) must
// be one tfjs implements, every weight must be a Const node of the graph, and
// shapes and dtypes must be sane; an unknown op is named. A graph that passes
// is built and run in the model inspector's child (graph-summary.ts) and may
// then be a frozen base (docs/models.md).
import { UnprocessableError } from '../errors.ts';
import { TFJS_GRAPH_OPS } from './graph-ops.ts';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nodes a graph may hold (MobileNet-size graphs have a few hundred; big ones a few thousand). */
export const MAX_GRAPH_NODES = 100_000;

function invalid(message: string, details: Obj = {}): never {
  throw new UnprocessableError('model_invalid', message, { fault: 'graph', ...details });
}

/** The graph's nodes, and those of its functions (control flow), as {name, op}. */
function graphNodes(topology: Obj): Array<{ name: string; op: string }> {
  const lists: unknown[] = [topology.node];
  const fns = isObject(topology.library) ? topology.library.function : undefined;
  if (Array.isArray(fns)) for (const f of fns) lists.push(isObject(f) ? f.nodeDef : undefined);
  const out: Array<{ name: string; op: string }> = [];
  for (const list of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) invalid('A graph node list is not a list');
    for (const n of list) {
      if (!isObject(n) || typeof n.name !== 'string' || typeof n.op !== 'string') invalid('A graph node needs a name and an op');
      out.push({ name: n.name.slice(0, 200), op: n.op.slice(0, 100) });
      if (out.length > MAX_GRAPH_NODES) invalid(`The graph has more than ${MAX_GRAPH_NODES} nodes`, { fault: 'graph_size' });
    }
  }
  if (!Array.isArray(topology.node) || topology.node.length === 0) invalid('The graph has no nodes');
  return out;
}

const GRAPH_DTYPES = new Set(['float32', 'int32', 'bool', 'string', 'complex64']);

/** Checks a Graph model's topology and manifest; returns the names of its ops. */
export function checkGraphModel(json: Obj): { ops: string[]; nodes: number } {
  const topology = isObject(json.modelTopology) ? json.modelTopology : invalid('A graph model needs a modelTopology');
  const nodes = graphNodes(topology);
  for (const n of nodes) {
    if (!TFJS_GRAPH_OPS.has(n.op)) {
      throw new UnprocessableError('model_unsupported', `Graph node ${JSON.stringify(n.name)} uses the op ${JSON.stringify(n.op)}, which TensorFlow.js does not implement`, { fault: 'graph_op', op: n.op, node: n.name });
    }
  }
  const consts = new Set(nodes.filter((n) => n.op === 'Const').map((n) => n.name));
  const manifest = Array.isArray(json.weightsManifest) ? json.weightsManifest : invalid('A graph model needs a weightsManifest');
  for (const group of manifest) {
    if (!isObject(group) || !Array.isArray(group.weights)) invalid('weightsManifest entries need paths and weights');
    for (const w of group.weights) {
      const ok = isObject(w) && typeof w.name === 'string' && Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= 1e8);
      if (!ok) invalid(`Weight ${String(isObject(w) ? w.name : w).slice(0, 200)} has an invalid name or shape`);
      const name = String(w.name);
      if (!GRAPH_DTYPES.has(String(w.dtype))) invalid(`Weight ${name.slice(0, 200)} has dtype ${String(w.dtype).slice(0, 40)}`, { weight: name.slice(0, 200) });
      if (!consts.has(name)) invalid(`Weight ${name.slice(0, 200)} is not a Const node of the graph`, { weight: name.slice(0, 200) });
    }
  }
  return { ops: [...new Set(nodes.map((n) => n.op))].sort(), nodes: nodes.length };
}
