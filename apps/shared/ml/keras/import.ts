// A Keras model file (.keras from Keras 3, or a legacy .h5) → the files of a
// TensorFlow.js LayersModel (model.json + one weights buffer), then through
// the same checks as an uploaded LayersModel. Runs in the model inspector's
// child process: the file is hostile until proven otherwise.
import { UnprocessableError } from '../../errors.ts';
import { checkTopologyFitsManifest, checkWeightBytes, parseModelJson, type ModelJson, type WeightSpec } from '../model-files.ts';
import { MAX_TOPOLOGY_DEPTH, nestingDepth } from '../model-graph.ts';
import { datasetAt, groupAt, readFloatDataset, stringAttr, withH5File, type H5File, type H5Group, type WeightBudget } from './hdf5.ts';
import { convertModelConfig, type KerasLayer } from './topology.ts';
import { kerasLayerKeys, weightNames } from './weight-names.ts';
import { detectKerasFormat, readKerasZip } from './zip.ts';

export type KerasFormat = 'keras' | 'h5';

export interface KerasImportLimits {
  maxWeightBytes: number;
  maxLayers: number;
}

export interface ImportedModel {
  modelJson: ModelJson;
  weights: Uint8Array;
  format: KerasFormat;
  kerasVersion?: string;
}

const MAX_CONFIG_BYTES = 16 * 2 ** 20;

function parseConfig(text: string | Uint8Array, what: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch {
    throw new UnprocessableError('model_invalid', `${what} is not valid JSON`, { fault: 'keras_config' });
  }
  if (nestingDepth(json, MAX_TOPOLOGY_DEPTH) > MAX_TOPOLOGY_DEPTH) throw new UnprocessableError('model_invalid', `${what} nests deeper than ${MAX_TOPOLOGY_DEPTH} levels`, { fault: 'too_deep' });
  return json;
}

interface Collected {
  specs: WeightSpec[];
  chunks: Float32Array[];
}

function collect(out: Collected, layer: KerasLayer, names: string[], read: (i: number) => { shape: number[]; values: Float32Array }): void {
  names.forEach((w, i) => {
    // Normalization's int64 sample count changes nothing it computes: not read, not kept.
    if (layer.className === 'Normalization' && w === 'count') return;
    const { shape, values } = read(i);
    out.specs.push({ name: `${layer.name}/${w}`, shape, dtype: 'float32' });
    out.chunks.push(values);
  });
}

function mismatch(layer: string, expected: string[], found: number): never {
  throw new UnprocessableError('model_invalid', `Layer ${JSON.stringify(layer)}: the file holds ${found} weights, the layer needs ${expected.length} (${expected.join(', ')})`, { layer, fault: 'weight_count', expected: expected.length, found });
}

/** Keras 3: layers/<snake_case class>[_n]/vars/0, 1, … in the order of model.layers. */
function kerasWeights(file: H5File, layers: KerasLayer[], sequential: boolean, budget: WeightBudget): Collected {
  const out: Collected = { specs: [], chunks: [] };
  const listed = sequential ? layers.filter((l) => l.className !== 'InputLayer') : layers;
  const keys = kerasLayerKeys(listed.map((l) => l.className));
  const root = groupAt(file, 'layers');
  listed.forEach((layer, i) => {
    const names = weightNames(layer.className, layer.config);
    const vars = root ? groupAt(root, `${keys[i]}/vars`) : undefined;
    const held = vars ? vars.keys().length : 0;
    if (held !== names.length) mismatch(layer.name, names, held);
    if (vars) {
      const named = stringAttr(vars, 'name');
      if (typeof named === 'string' && named !== layer.name) {
        throw new UnprocessableError('model_invalid', `layers/${keys[i]} holds the weights of ${JSON.stringify(named)}, not of ${JSON.stringify(layer.name)}`, { layer: layer.name, fault: 'weight_layout' });
      }
      collect(out, layer, names, (j) => readFloatDataset(datasetAt(vars, String(j)), `layers/${keys[i]}/vars/${j}`, budget));
    }
  });
  return out;
}

/** Legacy .h5: model_weights/<layer>/<weight name> for each name in the layer group's weight_names. */
function legacyWeights(file: H5File, layers: KerasLayer[], budget: WeightBudget): Collected {
  const out: Collected = { specs: [], chunks: [] };
  const root = groupAt(file, 'model_weights') ?? (file as unknown as H5Group);
  for (const layer of layers) {
    const names = weightNames(layer.className, layer.config);
    const group = groupAt(root, layer.name);
    const attr = group ? stringAttr(group, 'weight_names') : undefined;
    const held = attr === undefined ? [] : Array.isArray(attr) ? attr : [attr];
    if (held.length !== names.length) mismatch(layer.name, names, held.length);
    collect(out, layer, names, (j) => readFloatDataset(datasetAt(group!, held[j]), `model_weights/${layer.name}/${held[j]}`, budget));
  }
  return out;
}

function assemble(modelTopology: Record<string, unknown>, collected: Collected, limits: KerasImportLimits): { modelJson: ModelJson; weights: Uint8Array } {
  const total = collected.chunks.reduce((n, c) => n + c.byteLength, 0);
  const weights = new Uint8Array(total);
  let offset = 0;
  for (const c of collected.chunks) {
    weights.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), offset);
    offset += c.byteLength;
  }
  const draft = { format: 'layers-model', generatedBy: 'keras-import', convertedBy: null, modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: collected.specs }] };
  // Exactly the checks an uploaded model.json gets: allow-list, graph, sizes.
  const modelJson = parseModelJson(new TextEncoder().encode(JSON.stringify(draft)), limits.maxLayers);
  checkTopologyFitsManifest(modelJson);
  checkWeightBytes(modelJson, weights.byteLength);
  return { modelJson, weights };
}

async function importKerasZip(bytes: Uint8Array, limits: KerasImportLimits): Promise<ImportedModel> {
  const entries = readKerasZip(bytes, { maxConfigBytes: MAX_CONFIG_BYTES, maxWeightsBytes: limits.maxWeightBytes + 16 * 2 ** 20 });
  const { modelTopology, layers } = convertModelConfig(parseConfig(entries.config, 'config.json'));
  const meta = entries.metadata ? (parseConfig(entries.metadata, 'metadata.json') as { keras_version?: unknown }) : {};
  const sequential = modelTopology.class_name === 'Sequential';
  const budget = { remaining: limits.maxWeightBytes };
  const collected = await withH5File(entries.weights, (f) => kerasWeights(f, layers, sequential, budget));
  return { ...assemble(modelTopology, collected, limits), format: 'keras', kerasVersion: typeof meta.keras_version === 'string' ? meta.keras_version.slice(0, 40) : undefined };
}

async function importLegacyH5(bytes: Uint8Array, limits: KerasImportLimits): Promise<ImportedModel> {
  return withH5File(bytes, (f) => {
    const config = stringAttr(f, 'model_config');
    if (typeof config !== 'string') throw new UnprocessableError('model_unsupported', 'The .h5 file holds no model_config: a weights-only file cannot be imported; save the whole model', { fault: 'no_model_config' });
    if (config.length > MAX_CONFIG_BYTES) throw new UnprocessableError('model_invalid', 'model_config is too large', { fault: 'keras_config' });
    const { modelTopology, layers } = convertModelConfig(parseConfig(config, 'model_config'));
    const collected = legacyWeights(f, layers, { remaining: limits.maxWeightBytes });
    const version = stringAttr(f, 'keras_version');
    return { ...assemble(modelTopology, collected, limits), format: 'h5' as const, kerasVersion: typeof version === 'string' ? version.slice(0, 40) : undefined };
  });
}

/** Imports a .keras or legacy .h5 file; `format` is detected from the bytes when not given, and must match them when given. */
export async function importKerasModel(bytes: Uint8Array, limits: KerasImportLimits, format?: KerasFormat): Promise<ImportedModel> {
  const detected = detectKerasFormat(bytes);
  if (!detected) throw new UnprocessableError('model_unsupported', 'The file is neither a .keras archive (zip) nor a Keras .h5 (HDF5) file', { fault: 'unknown_format' });
  if (format && format !== detected) throw new UnprocessableError('model_invalid', `The file was declared ${format} but its content is ${detected}`, { fault: 'format_mismatch', declared: format, detected });
  return detected === 'keras' ? importKerasZip(bytes, limits) : importLegacyH5(bytes, limits);
}
