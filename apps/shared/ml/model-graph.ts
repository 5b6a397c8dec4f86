// Checks a LayersModel topology as a graph, as data, before tfjs sees it.
// tfjs rebuilds a functional model by re-queueing every node whose inputs do
// not exist yet and looping until the queue is empty (Container.fromConfig), so
// a node that can never be built (an input naming a missing layer, a node index
// past what that layer will ever have, layers feeding each other in a loop)
// makes it spin forever. Sequential and functional topologies both get their
// dimensions checked: a string where an integer belongs would build, then
// poison every summary derived from it.
import { UnprocessableError } from '../errors.ts';

export type GraphFault =
  | 'malformed' | 'too_deep' | 'duplicate_name' | 'unknown_layer' | 'node_index_out_of_range' | 'tensor_index_out_of_range'
  | 'cycle' | 'not_an_input_layer' | 'undeclared_input' | 'unused_input' | 'unreachable' | 'bad_dimension' | 'bad_key';

interface LayerEntry {
  name?: unknown;
  class_name?: unknown;
  config?: unknown;
  inbound_nodes?: unknown;
}

interface Layer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Functional only: each node's inputs as [layer index, node index]. */
  nodes: Array<Array<[number, number]>>;
}

/** Deeper than any honest topology; bounds every recursive walk over it (ours, JSON.stringify's, tfjs's). */
export const MAX_TOPOLOGY_DEPTH = 64;
const MAX_DIM = 1e8;
const TOPOLOGY_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
/** Every allowed layer class has exactly one output tensor per call. */
const OUTPUTS_PER_NODE = 1;
// tfjs reads a key after snake_case → camelCase, so `batchInputShape` or `kernel__size` would
// reach it past checks that look for `batch_input_shape`: honest files use plain snake_case only.
const SNAKE_KEY = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
/** Arrays of dimensions: integers or null (a batch or variable-length axis). */
const SHAPE_KEYS = new Set(['batch_input_shape', 'batch_shape', 'input_shape', 'noise_shape']);
/** Sizes: integers (or nested lists of them, or null for "the default"); padding may also be 'valid', 'same'… */
const SIZE_KEYS = new Set(['units', 'filters', 'kernel_size', 'strides', 'pool_size', 'size', 'dilation_rate', 'depth_multiplier', 'input_dim', 'output_dim', 'input_length', 'padding', 'cropping']);

function fault(kind: GraphFault, message: string, layer?: string, extra: Record<string, unknown> = {}): never {
  throw new UnprocessableError('model_invalid', layer === undefined ? message : `Layer ${JSON.stringify(layer)}: ${message}`, { ...(layer === undefined ? {} : { layer }), fault: kind, ...extra });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** The deepest nesting of arrays and objects in `value`, walked without recursion. */
export function nestingDepth(value: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max && (max = depth + 1) > stopAt) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

function checkDims(value: unknown, path: string, layer: string, allowNull: boolean, min: number): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkDims(v, `${path}[${i}]`, layer, allowNull, min);
    return;
  }
  if (value === null && allowNull) return;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_DIM) {
    fault('bad_dimension', `${path} must be an integer from ${min} to ${MAX_DIM}${allowNull ? ' or null' : ''}, got ${JSON.stringify(value)?.slice(0, 40)}`, layer, { key: path });
  }
}

/** Keys must be plain snake_case; shapes and sizes must be integers (or null where a dimension may be unknown). */
function checkConfig(config: Record<string, unknown>, layer: string): void {
  const stack: unknown[] = [config];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (isObject(v)) {
      for (const [key, child] of Object.entries(v)) {
        if (!SNAKE_KEY.test(key)) fault('bad_key', `config key ${JSON.stringify(key.slice(0, 60))} is not snake_case`, layer, { key: key.slice(0, 60) });
        stack.push(child);
      }
    }
  }
  for (const [key, value] of Object.entries(config)) {
    if (SHAPE_KEYS.has(key) && value !== null) {
      if (!Array.isArray(value)) fault('bad_dimension', `${key} must be a list of dimensions`, layer, { key });
      checkDims(value, key, layer, true, 0);
    } else if (key === 'target_shape') {
      checkDims(value, key, layer, false, -1);
    } else if (key === 'axis') {
      checkDims(value, key, layer, false, -MAX_DIM);
    } else if (SIZE_KEYS.has(key) && !(key === 'padding' && typeof value === 'string')) {
      checkDims(value, key, layer, true, 0);
    }
  }
}

function layersOf(modelTopology: Record<string, unknown>): { className: string; config: Record<string, unknown>; entries: LayerEntry[] } {
  const top = modelTopology.model_config ?? modelTopology;
  if (!isObject(top)) fault('malformed', 'modelTopology.model_config is not an object');
  const className = String(top.class_name);
  if (!TOPOLOGY_CLASSES.has(className)) fault('malformed', `The topology is a ${className.slice(0, 60)}; only Sequential and functional (Model) LayersModels are accepted`);
  const cfg = top.config;
  const entries = Array.isArray(cfg) ? cfg : isObject(cfg) ? cfg.layers : undefined;
  if (!Array.isArray(entries)) fault('malformed', 'The topology has no list of layers');
  return { className, config: isObject(cfg) ? cfg : {}, entries };
}

function readLayers(entries: LayerEntry[], functional: boolean): Layer[] {
  const seen = new Set<string>();
  return entries.map((e, i) => {
    if (!isObject(e) || typeof e.class_name !== 'string' || !isObject(e.config)) fault('malformed', `Layer ${i} needs a class_name and a config object`);
    const configName = e.config.name;
    // tfjs files a functional layer under its entry's name but queues its nodes under config.name.
    const name = functional ? e.name : (configName ?? `#${i}`);
    if (typeof name !== 'string' || name === '' || (configName !== undefined && configName !== name)) {
      fault('malformed', `Layer ${i} needs one name, the same in the entry and its config`, typeof name === 'string' ? name : undefined);
    }
    if (seen.has(name)) fault('duplicate_name', 'two layers have this name', name);
    seen.add(name);
    checkConfig(e.config, name);
    return { name, className: e.class_name, config: e.config, nodes: [] };
  });
}

type Ref = [layer: number, node: number];

/** [layer name, node index, tensor index(, kwargs)] → [layer, node], every index in range. */
function resolve(raw: unknown, where: string, owner: string | undefined, byName: Map<string, number>, nodeCount: (i: number) => number): Ref {
  if (!Array.isArray(raw) || raw.length < 3 || raw.length > 4 || typeof raw[0] !== 'string' || !isIndex(raw[1]) || !isIndex(raw[2]) || (raw[3] !== undefined && raw[3] !== null && !isObject(raw[3]))) {
    fault('malformed', `${where} is not [layer name, node index, tensor index, kwargs]`, owner);
  }
  const [name, node, tensor] = raw as [string, number, number];
  const target = byName.get(name);
  if (target === undefined) fault('unknown_layer', `${where} names layer ${JSON.stringify(name.slice(0, 100))}, which is not in the model`, owner, { input: name.slice(0, 100) });
  if (node >= nodeCount(target)) {
    fault('node_index_out_of_range', `${where} names node ${node} of layer ${JSON.stringify(name)}, which has ${nodeCount(target)}`, owner, { input: name, nodeIndex: node });
  }
  if (tensor >= OUTPUTS_PER_NODE) fault('tensor_index_out_of_range', `${where} names output ${tensor} of layer ${JSON.stringify(name)}, which has ${OUTPUTS_PER_NODE}`, owner, { input: name, tensorIndex: tensor });
  return [target, node];
}

function refs(raw: unknown, key: string, byName: Map<string, number>, nodeCount: (i: number) => number): Ref[] {
  if (!Array.isArray(raw) || raw.length === 0) fault('malformed', `${key} must be a non-empty list of [layer name, node index, tensor index]`);
  return raw.map((r, i) => resolve(r, `${key}[${i}]`, undefined, byName, nodeCount));
}

/**
 * Node j of a layer exists once j + 1 of its calls are built, so a node that reads node k of
 * layer X waits for X's nodes 0..k. Modelled as an edge to (X, k) plus edges from each node of a
 * layer to the one before it; a graph acyclic in that sense is one tfjs finishes building.
 */
function checkAcyclic(layers: Layer[], nodeCount: (i: number) => number): void {
  const offset: number[] = [];
  let total = 0;
  for (let i = 0; i < layers.length; i++) (offset[i] = total), (total += nodeCount(i));
  const deps: number[][] = Array.from({ length: total }, () => []);
  const owner = new Int32Array(total);
  layers.forEach((l, i) => {
    for (let n = 0; n < nodeCount(i); n++) {
      owner[offset[i] + n] = i;
      if (n > 0) deps[offset[i] + n].push(offset[i] + n - 1);
      for (const [j, k] of l.nodes[n] ?? []) deps[offset[i] + n].push(offset[j] + k);
    }
  });
  // Iterative depth-first search: 1 = on the current path, 2 = finished.
  const state = new Uint8Array(total);
  for (let start = 0; start < total; start++) {
    if (state[start]) continue;
    const stack: Array<[node: number, next: number]> = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const d = deps[top[0]][top[1]++];
      if (d === undefined) {
        state[top[0]] = 2;
        stack.pop();
      } else if (state[d] === 1) {
        fault('cycle', 'its inputs lead back to itself: the layers form a loop', layers[owner[d]].name);
      } else if (state[d] === 0) {
        state[d] = 1;
        stack.push([d, 0]);
      }
    }
  }
}

/** Every layer leads to an output, and the outputs depend on the declared inputs and no other. */
function checkReachable(layers: Layer[], inputs: Ref[], outputs: Ref[]): void {
  const used = new Set<number>();
  const seen = new Set<string>();
  const queue: Ref[] = [...outputs];
  while (queue.length) {
    const [i, n] = queue.pop()!;
    used.add(i);
    if (seen.has(`${i}:${n}`)) continue;
    seen.add(`${i}:${n}`);
    queue.push(...(layers[i].nodes[n] ?? []));
  }
  const declared = new Set(inputs.map(([i]) => i));
  layers.forEach((l, i) => {
    if (!used.has(i)) fault('unreachable', 'the layer does not lead to any output', l.name);
    if (l.className === 'InputLayer' && !declared.has(i)) fault('undeclared_input', 'an output depends on this input layer, which is not in input_layers', l.name);
  });
  for (const [i] of inputs) if (!used.has(i)) fault('unused_input', 'this input layer does not lead to any output', layers[i].name);
}

function checkFunctional(layers: Layer[], entries: LayerEntry[], config: Record<string, unknown>): void {
  const byName = new Map(layers.map((l, i) => [l.name, i]));
  const isInput = (i: number) => layers[i].className === 'InputLayer';
  const inbound = entries.map((e, i) => {
    const nodes = e.inbound_nodes;
    if (!Array.isArray(nodes)) fault('malformed', 'inbound_nodes must be a list', layers[i].name);
    if (isInput(i) && nodes.length > 0) fault('malformed', 'an InputLayer has no inbound nodes', layers[i].name);
    if (!isInput(i) && nodes.length === 0) fault('unreachable', 'the layer is never called (no inbound nodes)', layers[i].name);
    return nodes as unknown[];
  });
  const nodeCount = (i: number) => (isInput(i) ? 1 : inbound[i].length);
  layers.forEach((l, i) => {
    l.nodes = inbound[i].map((node, n) => {
      if (!Array.isArray(node) || node.length === 0) fault('malformed', `node ${n} must be a non-empty list of inputs`, l.name);
      return node.map((input, k) => resolve(input, `node ${n}, input ${k}`, l.name, byName, nodeCount));
    });
  });
  const inputs = refs(config.input_layers, 'input_layers', byName, nodeCount);
  const outputs = refs(config.output_layers, 'output_layers', byName, nodeCount);
  for (const [i] of inputs) if (!isInput(i)) fault('not_an_input_layer', 'input_layers names it, but it is not an InputLayer', layers[i].name);
  checkAcyclic(layers, nodeCount);
  checkReachable(layers, inputs, outputs);
}

/**
 * Refuses (422 model_invalid, naming the layer and `details.fault`) a topology that tfjs could
 * not build in finite time, or that would yield a shape that is not integers and nulls.
 */
export function checkModelGraph(modelTopology: Record<string, unknown>): void {
  if (nestingDepth(modelTopology, MAX_TOPOLOGY_DEPTH) > MAX_TOPOLOGY_DEPTH) fault('too_deep', `modelTopology nests deeper than ${MAX_TOPOLOGY_DEPTH} levels`);
  const { className, config, entries } = layersOf(modelTopology);
  const functional = className !== 'Sequential';
  const layers = readLayers(entries, functional);
  if (functional) checkFunctional(layers, entries, config);
}
