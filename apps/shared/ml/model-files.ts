// Checks a LayersModel's files before tfjs allocates anything for them:
// model files are untrusted input (TensorFlow's own security policy says so).
import { LimitExceededError, UnprocessableError } from '../errors.ts';
import { checkModelGraph, MAX_TOPOLOGY_DEPTH, nestingDepth } from './model-graph.ts';
import { checkGraphModel } from './graph-model-check.ts';

/** Layer classes the service can rebuild; anything else (Lambda, custom) is refused. */
export const KNOWN_LAYER_CLASSES = new Set([
  'InputLayer', 'Dense', 'Dropout', 'Flatten', 'Reshape', 'Activation', 'BatchNormalization',
  'Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling1D', 'MaxPooling2D',
  'AveragePooling1D', 'AveragePooling2D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D',
  'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'ZeroPadding2D', 'UpSampling2D', 'Concatenate', 'Add',
  'Multiply', 'Average', 'LayerNormalization', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'Embedding', 'Rescaling',
  'Normalization',
]);

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

export interface ModelJson {
  modelTopology: Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  /** A graph-head's pointer to its base graph (model-format.ts). */
  graphBase?: unknown;
}

export const isGraphModel = (json: Pick<ModelJson, 'format'>): boolean => json.format === 'graph-model';

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new UnprocessableError('model_invalid', message, details);
}

/** A shard path must stay beside model.json: no traversal, no absolute paths, no URLs. */
export function checkShardPath(p: unknown): string {
  if (typeof p !== 'string' || !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(p) || p.split('/').some((s) => s === '..' || s === '.')) {
    invalid('Weight shard paths must be relative file names beside model.json', { path: String(p) });
  }
  return p;
}

function layerList(topology: Record<string, unknown>): Array<{ class_name: string; config?: Record<string, unknown> }> {
  // Saved models wrap the topology in model_config when a training config is present.
  const top = (topology.model_config ?? topology) as { class_name?: string; config?: unknown };
  const cfg = top.config as { layers?: unknown } | unknown[] | undefined;
  const layers = Array.isArray(cfg) ? cfg : (cfg as { layers?: unknown })?.layers;
  if (!Array.isArray(layers) || layers.length === 0) invalid('modelTopology has no layers');
  return layers as Array<{ class_name: string; config?: Record<string, unknown> }>;
}

export function byteSize(spec: WeightSpec): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[dtype];
  if (!bytes) invalid(`Weight ${spec.name} has unsupported dtype ${dtype}`);
  return spec.shape.reduce((a, b) => a * b, 1) * bytes;
}

/** Parses model.json bytes and checks its structure (and MAX_MODEL_LAYERS). Returns the parsed manifest. */
export function parseModelJson(bytes: Uint8Array, maxLayers = Infinity): ModelJson {
  let json: ModelJson;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    invalid('model.json is not valid JSON');
  }
  // Every later walk over it (ours, JSON.stringify, structured clone, tfjs) recurses.
  if (nestingDepth(json, MAX_TOPOLOGY_DEPTH) > MAX_TOPOLOGY_DEPTH) invalid(`model.json nests deeper than ${MAX_TOPOLOGY_DEPTH} levels`, { fault: 'too_deep' });
  if (!json || typeof json !== 'object' || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    invalid('model.json has no modelTopology: only TensorFlow.js LayersModels are accepted');
  }
  if (!Array.isArray(json.weightsManifest)) invalid('model.json has no weightsManifest');
  if (isGraphModel(json)) {
    // Its ops and Const weights, as data (graph-model-check.ts). MAX_MODEL_LAYERS caps the node rows
    // recorded for it instead (graph-summary.ts): a graph has more nodes than a model has layers.
    checkGraphModel(json as unknown as Record<string, unknown>);
    for (const group of json.weightsManifest) {
      if (!Array.isArray(group?.paths)) invalid('weightsManifest entries need paths and weights');
      group.paths.forEach(checkShardPath);
    }
    return json;
  }
  const layers = layerList(json.modelTopology);
  if (layers.length > maxLayers) {
    throw new LimitExceededError('model_too_many_layers', `The model has ${layers.length} layers`, 422, 'MAX_MODEL_LAYERS', maxLayers, layers.length);
  }
  for (const layer of layers) {
    if (!KNOWN_LAYER_CLASSES.has(layer?.class_name)) {
      invalid(`Layer class ${String(layer?.class_name)} is not supported`, { className: String(layer?.class_name) });
    }
  }
  checkModelGraph(json.modelTopology);
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) invalid('weightsManifest entries need paths and weights');
    group.paths.forEach(checkShardPath);
    for (const w of group.weights) {
      if (!Array.isArray(w?.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 1e8)) {
        invalid(`Weight ${String(w?.name)} has an invalid shape`);
      }
    }
  }
  return json;
}

const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
/** A kernel's spatial size: an array's product, or a number to the power of the layer's spatial rank. */
const kernelArea = (k: unknown, rank: number): number => (Array.isArray(k) ? k.reduce((a: number, b) => a * (int(b) ?? 1), 1) : (int(k) ?? 1) ** rank);

/**
 * tfjs allocates every layer's weights from the topology before it reads a
 * single byte of the manifest, so a topology that says units: 1e9 while the
 * manifest declares a few floats would have it allocate gigabytes. This sums a
 * lower bound of what the topology implies (a Dense kernel is at least its
 * units, and exactly prevUnits × units after another Dense in a Sequential
 * model) and refuses the model when that is more than the manifest declares.
 * An honest model never trips it: a lower bound is at most what it declares.
 */
export function checkTopologyFitsManifest(json: ModelJson): void {
  // A graph allocates nothing from its topology: its weights are the manifest's Const tensors.
  if (isGraphModel(json)) return;
  const declared = json.weightsManifest.flatMap((g) => g.weights).reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
  const top = (json.modelTopology.model_config ?? json.modelTopology) as { class_name?: string };
  const sequential = top.class_name === 'Sequential';
  let lastDim: number | undefined;
  let implied = 0;
  for (const layer of layerList(json.modelTopology)) {
    const c = layer.config ?? {};
    const input = Array.isArray(c.batch_input_shape) ? int(c.batch_input_shape[c.batch_input_shape.length - 1]) : undefined;
    // Channels-first data puts the channels elsewhere: assume nothing about them.
    const inDim = c.data_format === 'channels_first' ? 1 : ((sequential ? lastDim : undefined) ?? input ?? 1);
    let weights = 0;
    switch (layer.class_name) {
      case 'Dense':
        weights = inDim * (int(c.units) ?? 1);
        lastDim = int(c.units);
        break;
      case 'Conv1D':
      case 'Conv2D':
        weights = kernelArea(c.kernel_size, layer.class_name === 'Conv1D' ? 1 : 2) * inDim * (int(c.filters) ?? 1);
        lastDim = int(c.filters);
        break;
      case 'Embedding':
        weights = (int(c.input_dim) ?? 1) * (int(c.output_dim) ?? 1);
        lastDim = int(c.output_dim);
        break;
      case 'DepthwiseConv2D':
        weights = kernelArea(c.kernel_size, 2);
        lastDim = undefined;
        break;
      case 'SeparableConv2D':
        // A depthwise kernel and a pointwise one with at least `filters` weights.
        weights = kernelArea(c.kernel_size, 2) + (int(c.filters) ?? 1);
        lastDim = int(c.filters);
        break;
      case 'Dropout':
      case 'Activation':
      case 'ReLU':
      case 'LeakyReLU':
      case 'ELU':
      case 'Softmax':
      case 'BatchNormalization':
      case 'LayerNormalization':
        // Keep the last dimension.
        break;
      case 'InputLayer':
        lastDim = input;
        break;
      default:
        lastDim = undefined;
    }
    implied += weights;
    if (implied > declared) {
      invalid(`Layer ${String(c.name ?? layer.class_name)} implies at least ${implied} weights in all; the manifest declares ${declared}`, { layer: String(c.name ?? ''), implied, declared });
    }
  }
}

export function expectedWeightBytes(json: ModelJson): number {
  return json.weightsManifest.flatMap((g) => g.weights).reduce((sum, w) => sum + byteSize(w), 0);
}

/** The shard bytes must be exactly what the manifest declares: no more, no less. */
export function checkWeightBytes(json: ModelJson, actual: number): void {
  const expected = expectedWeightBytes(json);
  if (expected !== actual) {
    invalid(`Weight files hold ${actual} bytes but the manifest declares ${expected}`, { expected, actual });
  }
}
