// A Keras model config (config.json of a .keras, or the model_config attribute
// of a legacy .h5) → a TensorFlow.js LayersModel topology. Keras 3 writes each
// call of a layer as {args, kwargs} with keras_history in its tensors; Keras 2
// and tfjs write [layer, node, tensor, kwargs] lists. Both come out as the latter.
import { UnprocessableError } from '../../errors.ts';
import { convertLayerConfig, unsupported, type Cfg } from './layer-config.ts';

export interface KerasLayer {
  className: string;
  name: string;
  config: Cfg;
}

const isObject = (v: unknown): v is Cfg => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(message: string): never {
  throw new UnprocessableError('model_invalid', message, { fault: 'keras_config' });
}

type Ref = [string, number, number, Cfg];

/** The keras_history of every tensor in a Keras 3 call's args, in order. */
function tensorsIn(value: unknown, owner: string, out: Ref[] = []): Ref[] {
  if (Array.isArray(value)) for (const v of value) tensorsIn(v, owner, out);
  else if (isObject(value) && value.class_name === '__keras_tensor__') {
    const h = (value.config as Cfg | undefined)?.keras_history;
    if (!Array.isArray(h) || h.length !== 3) invalid(`Layer ${JSON.stringify(owner)}: an input tensor has no keras_history`);
    out.push([h[0] as string, h[1] as number, h[2] as number, {}]);
  } else if (value !== null && value !== undefined) {
    unsupported(owner, 'a call argument that is not a tensor (a constant or a Python value) cannot be imported', { option: 'inbound_nodes' });
  }
  return out;
}

/** One call of a layer → its inputs as [layer, node, tensor, {}]. */
function convertNode(node: unknown, owner: string): Ref[] {
  if (Array.isArray(node)) {
    // Keras 2 / tfjs: a list of [layer, node, tensor, kwargs]; kwargs tfjs does not take are dropped.
    return node.map((r) => (Array.isArray(r) ? [r[0], r[1], r[2], {}] : invalid(`Layer ${JSON.stringify(owner)}: malformed inbound node`)) as Ref);
  }
  if (!isObject(node)) invalid(`Layer ${JSON.stringify(owner)}: malformed inbound node`);
  const kwargs = isObject(node.kwargs) ? node.kwargs : {};
  for (const [k, v] of Object.entries(kwargs)) {
    // mask: null and training flags change nothing tfjs computes at inference.
    if (v !== null && k !== 'training') unsupported(owner, `the call argument ${k} cannot be imported`, { option: k });
  }
  const refs = tensorsIn(node.args, owner);
  if (refs.length === 0) invalid(`Layer ${JSON.stringify(owner)}: a call with no input tensor`);
  return refs;
}

/** [name, 0, 0] or [[name, 0, 0], …] → the latter. */
function endpoints(v: unknown, key: string): Array<[string, number, number]> {
  if (!Array.isArray(v) || v.length === 0) invalid(`The model config has no ${key}`);
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((r) => (Array.isArray(r) && typeof r[0] === 'string' ? [r[0], Number(r[1] ?? 0), Number(r[2] ?? 0)] : invalid(`${key} is malformed`)));
}

function readLayers(config: Cfg): Cfg[] {
  const layers = Array.isArray(config) ? config : config.layers;
  if (!Array.isArray(layers) || layers.length === 0) invalid('The model config has no layers');
  return layers.map((l, i) => (isObject(l) && typeof l.class_name === 'string' && isObject(l.config) ? l : invalid(`Layer ${i} needs a class_name and a config`)));
}

export interface ConvertedTopology {
  modelTopology: Cfg;
  /** Every layer, in file order, with its Keras class and config (for weight naming). */
  layers: KerasLayer[];
}

/** A Sequential model: tfjs takes the input shape on the first layer, not as an InputLayer. */
function sequential(name: string, buildShape: unknown, entries: Cfg[]): ConvertedTopology {
  const layers: KerasLayer[] = [];
  const out: Cfg[] = [];
  let inputShape: unknown;
  for (const e of entries) {
    const config = convertLayerConfig(e.class_name as string, e.config as Cfg);
    layers.push({ className: e.class_name as string, name: config.name as string, config: e.config as Cfg });
    if (e.class_name === 'InputLayer') {
      inputShape = config.batch_input_shape;
      continue;
    }
    if (inputShape !== undefined && out.length === 0) config.batch_input_shape = inputShape;
    out.push({ class_name: e.class_name, config });
  }
  if (out.length === 0) invalid('The model has no layers besides its input');
  const first = out[0].config as Cfg;
  if (!first.batch_input_shape) {
    const shape = (entries[0].config as Cfg).batch_input_shape ?? (entries[0].config as Cfg).batch_shape ?? buildShape;
    if (!Array.isArray(shape)) invalid('A Sequential model needs its input shape (save it after building)');
    first.batch_input_shape = shape;
  }
  return { modelTopology: { class_name: 'Sequential', config: { name, layers: out }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' }, layers };
}

function functional(name: string, config: Cfg, entries: Cfg[]): ConvertedTopology {
  const layers: KerasLayer[] = [];
  const out = entries.map((e) => {
    const c = convertLayerConfig(e.class_name as string, e.config as Cfg);
    const layerName = String(e.name ?? c.name);
    if (layerName !== c.name) invalid(`Layer ${JSON.stringify(layerName)} has a different name in its config`);
    layers.push({ className: e.class_name as string, name: layerName, config: e.config as Cfg });
    const nodes = Array.isArray(e.inbound_nodes) ? e.inbound_nodes : invalid(`Layer ${JSON.stringify(layerName)} has no inbound_nodes`);
    return { class_name: e.class_name, name: layerName, config: c, inbound_nodes: nodes.map((n) => convertNode(n, layerName)) };
  });
  const modelConfig = { name, layers: out, input_layers: endpoints(config.input_layers, 'input_layers'), output_layers: endpoints(config.output_layers, 'output_layers') };
  return { modelTopology: { class_name: 'Model', config: modelConfig, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' }, layers };
}

/** The model config as JSON text (untrusted) → a tfjs topology plus the layer list. */
export function convertModelConfig(root: unknown): ConvertedTopology {
  if (!isObject(root)) invalid('The model config is not an object');
  const top = isObject(root.model_config) ? root.model_config : root;
  const className = top.class_name;
  const config = top.config;
  if (!isObject(config) && !Array.isArray(config)) invalid('The model config has no config');
  const name = String((isObject(config) && config.name) || 'model');
  const entries = readLayers(config as Cfg);
  if (className === 'Sequential') return sequential(name, isObject(config) ? config.build_input_shape : undefined, entries);
  if (className === 'Functional' || className === 'Model') return functional(name, config as Cfg, entries);
  throw new UnprocessableError('model_unsupported', `A ${String(className).slice(0, 60)} model cannot be imported: only Sequential and Functional models`, { className: String(className).slice(0, 60) });
}
