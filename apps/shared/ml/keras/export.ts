// A TensorFlow.js LayersModel's files (model.json + weights) → a Keras 3
// `.keras` file: config.json in Keras 3's layout, metadata.json, and
// model.weights.h5 with each layer's variables under layers/<key>/vars/<i>,
// the keys and order Keras' own loader walks. Layer options go through the
// same converter as an import, so a model exports only if Keras computes what
// tfjs does; anything else is a 422 model_unsupported naming the layer.
import { UnprocessableError } from '../../errors.ts';
import type { ModelJson, WeightSpec } from '../model-files.ts';
import { createH5File, type H5Group } from './hdf5.ts';
import { convertLayerConfig, type Cfg } from './layer-config.ts';
import { kerasLayerKeys, weightNames } from './weight-names.ts';
import { writeKerasZip } from './zip.ts';

/** The Keras version whose layout this writes. */
export const KERAS_FORMAT_VERSION = '3.15.1';

interface TfjsLayer {
  class_name: string;
  name?: string;
  config: Cfg;
  inbound_nodes?: unknown[];
}

const isObject = (v: unknown): v is Cfg => typeof v === 'object' && v !== null && !Array.isArray(v);

/** tfjs' config of a layer → Keras 3's: the same options, Keras' names for the few that differ. */
function kerasConfig(className: string, config: Cfg): Cfg {
  const c = convertLayerConfig(className, config);
  if (className === 'LeakyReLU') {
    c.negative_slope = c.alpha;
    delete c.alpha;
  }
  delete c.batch_input_shape;
  return c;
}

function inputLayer(name: string, batchShape: unknown): Cfg {
  return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: batchShape, dtype: 'float32', sparse: false, name }, registered_name: null, name, inbound_nodes: [] };
}

function layerEntry(l: TfjsLayer, nodes?: unknown[]): Cfg {
  const config = l.class_name === 'InputLayer' ? { batch_shape: l.config.batch_input_shape, dtype: 'float32', sparse: false, name: l.config.name } : kerasConfig(l.class_name, l.config);
  const name = String(config.name);
  // Keras 3 still reads the [layer, node, tensor, kwargs] form of a call.
  return { module: 'keras.layers', class_name: l.class_name, config, registered_name: null, name, ...(nodes ? { inbound_nodes: nodes } : {}) };
}

export interface KerasConfigOut {
  config: Cfg;
  /** Layers in the order of Keras' model.layers, with their tfjs class and config. */
  layers: Array<{ className: string; name: string; config: Cfg }>;
}

function layersOf(top: Cfg): TfjsLayer[] {
  const cfg = top.config;
  const list = Array.isArray(cfg) ? cfg : isObject(cfg) ? cfg.layers : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new UnprocessableError('model_invalid', 'The model has no layers', { fault: 'malformed' });
  return list as TfjsLayer[];
}

/** The stored tfjs topology → Keras 3 config.json. */
export function toKerasConfig(modelTopology: Cfg): KerasConfigOut {
  const top = (isObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology) as Cfg;
  const list = layersOf(top);
  const name = String((isObject(top.config) && top.config.name) || 'model');
  const order = list.map((l) => ({ className: l.class_name, name: String(l.config.name ?? l.name), config: l.config }));
  if (top.class_name === 'Sequential') {
    const shape = list[0].config.batch_input_shape;
    if (!Array.isArray(shape)) throw new UnprocessableError('model_invalid', 'A Sequential model needs its input shape', { fault: 'malformed' });
    const layers = [inputLayer(`${name}_input`, shape), ...list.map((l) => layerEntry(l))];
    return { config: { module: 'keras', class_name: 'Sequential', config: { name, trainable: true, dtype: 'float32', layers, build_input_shape: shape }, registered_name: null }, layers: order };
  }
  const layers = list.map((l) => layerEntry(l, (l.inbound_nodes ?? []).map((n) => (Array.isArray(n) ? n.map((r) => (Array.isArray(r) ? [r[0], r[1], r[2], {}] : r)) : n))));
  const { input_layers, output_layers } = top.config as Cfg;
  const config = { name, trainable: true, layers, input_layers, output_layers };
  return { config: { module: 'keras.src.models.functional', class_name: 'Functional', config, registered_name: 'Functional' }, layers: order };
}

function weightSlices(specs: WeightSpec[], weights: Uint8Array): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32' || s.quantization) throw new UnprocessableError('model_unsupported', `Weight ${s.name} is ${s.quantization?.dtype ?? s.dtype}; only float32 weights export`, { weight: s.name });
    const n = s.shape.reduce((a, b) => a * b, 1);
    // Copied: the weights' buffer need not be 4-byte aligned.
    const values = new Float32Array(weights.slice(offset, offset + n * 4).buffer);
    out.set(s.name, { shape: s.shape, values });
    offset += n * 4;
  }
  return out;
}

/** The model's variables in Keras' order: layers/<key>/vars/0, 1, … */
function writeWeights(root: H5Group, layers: KerasConfigOut['layers'], sequential: boolean, slices: ReturnType<typeof weightSlices>): void {
  const listed = sequential ? layers.filter((l) => l.className !== 'InputLayer') : layers;
  const keys = kerasLayerKeys(listed.map((l) => l.className));
  const group = root.create_group('layers');
  listed.forEach((layer, i) => {
    const vars = group.create_group(keys[i]).create_group('vars');
    vars.create_attribute('name', layer.name);
    weightNames(layer.className, layer.config).forEach((w, j) => {
      if (layer.className === 'Normalization' && w === 'count') {
        vars.create_dataset({ name: String(j), data: new BigInt64Array(1), shape: [], dtype: '<q' });
        return;
      }
      const slice = slices.get(`${layer.name}/${w}`);
      if (!slice) throw new UnprocessableError('model_invalid', `Layer ${JSON.stringify(layer.name)} has no weight ${w} in the manifest`, { layer: layer.name, fault: 'weight_missing' });
      vars.create_dataset({ name: String(j), data: slice.values, shape: slice.shape, dtype: '<f' });
    });
  });
  root.create_group('vars');
}

/** model.json + weights → the bytes of a `.keras` file that Keras 3's load_model opens. */
export async function exportKerasModel(modelJson: ModelJson, weights: Uint8Array): Promise<Uint8Array> {
  const { config, layers } = toKerasConfig(modelJson.modelTopology);
  const slices = weightSlices(modelJson.weightsManifest.flatMap((g) => g.weights), weights);
  const sequential = config.class_name === 'Sequential';
  const h5 = await createH5File((f) => writeWeights(f as unknown as H5Group, layers, sequential, slices));
  const metadata = { keras_version: KERAS_FORMAT_VERSION, date_saved: new Date().toISOString().slice(0, 19).replace('T', '@') };
  return writeKerasZip({ config: JSON.stringify(config), metadata: JSON.stringify(metadata), weights: h5 });
}
