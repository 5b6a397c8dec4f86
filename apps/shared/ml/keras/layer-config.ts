// Keras layer configs (Keras 3, or Keras 2 in a legacy .h5) → the config of the
// same layer in a TensorFlow.js LayersModel. Each layer keeps only the options
// tfjs implements; an option set to something tfjs would compute differently is
// a 422 that names the layer and the option, never a silently different model.
import { UnprocessableError } from '../../errors.ts';

export type Cfg = Record<string, unknown>;

export function unsupported(layer: string, message: string, details: Record<string, unknown> = {}): never {
  throw new UnprocessableError('model_unsupported', `Layer ${JSON.stringify(layer)}: ${message}`, { layer, ...details });
}

/** Keras activation name → the tfjs name that computes the same function. */
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid', tanh: 'tanh', softmax: 'softmax', elu: 'elu', selu: 'selu',
  softplus: 'softplus', softsign: 'softsign', swish: 'swish', silu: 'swish', mish: 'mish', log_softmax: 'log_softmax',
  // Keras' gelu string is the exact (erf) form, as is tfjs' gelu.
  gelu: 'gelu',
  // Registered by keras-ops.ts: x * relu6(x + 3) / 6, as Keras 3.
  hard_swish: 'hard_swish', hard_silu: 'hard_swish',
};
/** Named, with why: tfjs has a function of that name that computes something else, or none. */
const ACTIVATION_WHY: Record<string, string> = {
  hard_sigmoid: "Keras 3's hard_sigmoid is relu6(x + 3) / 6; tfjs' hardSigmoid is clip(0.2x + 0.5): a different function",
  leaky_relu: 'tfjs has no leaky_relu activation function (use a LeakyReLU layer)',
  exponential: 'tfjs has no exponential activation',
};

function activation(layer: string, value: unknown): string {
  const name = value === null || value === undefined ? 'linear' : typeof value === 'string' ? value : (value as Cfg)?.class_name ?? (value as Cfg)?.config;
  if (typeof name !== 'string') unsupported(layer, 'activation must be a name', { option: 'activation' });
  const mapped = ACTIVATIONS[name];
  if (!mapped) unsupported(layer, `activation ${JSON.stringify(name.slice(0, 60))} is not supported: ${ACTIVATION_WHY[name] ?? 'tfjs does not implement it'}`, { option: 'activation', value: name.slice(0, 60) });
  return mapped;
}

/** `option` must be absent or one of `allowed` (compared as JSON). */
function expect(layer: string, c: Cfg, option: string, ...allowed: unknown[]): void {
  if (!(option in c)) return;
  const v = JSON.stringify(c[option]);
  if (!allowed.some((a) => JSON.stringify(a) === v)) unsupported(layer, `option ${option}=${v?.slice(0, 60)} is not supported by tfjs`, { option, value: v?.slice(0, 60) });
}

function pick(c: Cfg, keys: string[]): Cfg {
  const out: Cfg = {};
  for (const k of keys) if (c[k] !== undefined) out[k] = c[k];
  return out;
}

/** Keras 3 keeps the dtype policy as an object; tfjs layers compute in float32. */
function dtypeOf(layer: string, c: Cfg): string {
  const d = c.dtype;
  const name = d === undefined || d === null ? 'float32' : typeof d === 'string' ? d : ((d as Cfg).config as Cfg)?.name;
  if (name !== 'float32') unsupported(layer, `dtype ${JSON.stringify(name)} is not supported; only float32`, { option: 'dtype' });
  return 'float32';
}

const isNumbers = (v: unknown, depth = 0): boolean => (typeof v === 'number' && Number.isFinite(v)) || (depth < 4 && Array.isArray(v) && v.every((x) => isNumbers(x, depth + 1)));

const CONV = ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'use_bias'];
const POOL = ['pool_size', 'padding', 'strides', 'data_format'];

/** Per class: the options kept, and checks on the others. */
const CONVERTERS: Record<string, (name: string, c: Cfg) => Cfg> = {
  InputLayer: (name, c) => {
    expect(name, c, 'sparse', false);
    expect(name, c, 'ragged', false);
    const shape = c.batch_shape ?? c.batch_input_shape;
    if (!Array.isArray(shape)) unsupported(name, 'an InputLayer needs batch_shape', { option: 'batch_shape' });
    return { batch_input_shape: shape, sparse: false };
  },
  Dense: (name, c) => {
    expect(name, c, 'quantization_config', null);
    expect(name, c, 'lora_rank', null);
    return { ...pick(c, ['units', 'use_bias']), activation: activation(name, c.activation) };
  },
  Conv1D: (name, c) => (expect(name, c, 'groups', 1), { ...pick(c, CONV), activation: activation(name, c.activation) }),
  Conv2D: (name, c) => (expect(name, c, 'groups', 1), { ...pick(c, CONV), activation: activation(name, c.activation) }),
  DepthwiseConv2D: (name, c) => ({ ...pick(c, [...CONV.filter((k) => k !== 'filters'), 'depth_multiplier']), activation: activation(name, c.activation) }),
  SeparableConv2D: (name, c) => ({ ...pick(c, [...CONV, 'depth_multiplier']), activation: activation(name, c.activation) }),
  Activation: (name, c) => ({ activation: activation(name, c.activation) }),
  ReLU: (name, c) => {
    expect(name, c, 'negative_slope', 0, 0.0);
    expect(name, c, 'threshold', 0, 0.0);
    return pick(c, ['max_value']);
  },
  LeakyReLU: (name, c) => ({ alpha: c.negative_slope ?? c.alpha ?? 0.3 }),
  ELU: (_n, c) => pick(c, ['alpha']),
  Softmax: (_n, c) => pick(c, ['axis']),
  BatchNormalization: (name, c) => {
    expect(name, c, 'renorm', false);
    return pick(c, ['axis', 'momentum', 'epsilon', 'center', 'scale']);
  },
  LayerNormalization: (name, c) => {
    expect(name, c, 'rms_scaling', false);
    return pick(c, ['axis', 'epsilon', 'center', 'scale']);
  },
  Dropout: (_n, c) => pick(c, ['rate', 'noise_shape', 'seed']),
  Flatten: (_n, c) => pick(c, ['data_format']),
  Reshape: (_n, c) => pick(c, ['target_shape']),
  MaxPooling1D: (_n, c) => pick(c, POOL),
  MaxPooling2D: (_n, c) => pick(c, POOL),
  AveragePooling1D: (_n, c) => pick(c, POOL),
  AveragePooling2D: (_n, c) => pick(c, POOL),
  GlobalAveragePooling1D: (name, c) => (expect(name, c, 'keepdims', false), pick(c, ['data_format'])),
  // keepdims: true is the service's registered subclass (keras-ops.ts).
  GlobalAveragePooling2D: (_n, c) => ({ ...pick(c, ['data_format']), ...(c.keepdims === true ? { keepdims: true } : {}) }),
  GlobalMaxPooling1D: (name, c) => (expect(name, c, 'keepdims', false), pick(c, ['data_format'])),
  GlobalMaxPooling2D: (name, c) => (expect(name, c, 'keepdims', false), pick(c, ['data_format'])),
  ZeroPadding2D: (_n, c) => pick(c, ['padding', 'data_format']),
  UpSampling2D: (name, c) => (expect(name, c, 'interpolation', 'nearest'), pick(c, ['size', 'data_format'])),
  Concatenate: (_n, c) => pick(c, ['axis']),
  Add: () => ({}),
  Multiply: () => ({}),
  Average: () => ({}),
  Embedding: (name, c) => (expect(name, c, 'mask_zero', false), pick(c, ['input_dim', 'output_dim'])),
  Normalization: (name, c) => {
    const axis = c.axis === undefined ? [-1] : c.axis;
    const ok = axis === null || Number.isInteger(axis) || (Array.isArray(axis) && axis.every((a) => Number.isInteger(a)));
    if (!ok) unsupported(name, 'axis must be null, an integer or a list of integers', { option: 'axis' });
    for (const k of ['mean', 'variance'] as const) {
      const v = c[k] ?? null;
      if (v !== null && !isNumbers(v)) unsupported(name, `${k} must be a number or a (nested) list of numbers`, { option: k });
    }
    if ((c.mean ?? null) === null !== ((c.variance ?? null) === null)) unsupported(name, 'mean and variance must be given together', { option: 'mean' });
    return { axis, invert: c.invert === true, mean: c.mean ?? null, variance: c.variance ?? null };
  },
  Rescaling: (name, c) => {
    if (typeof c.scale !== 'number' || typeof (c.offset ?? 0) !== 'number') unsupported(name, 'only a scalar scale and offset are supported', { option: 'scale' });
    return { scale: c.scale, offset: c.offset ?? 0 };
  },
};

export const CONVERTIBLE_CLASSES = new Set(Object.keys(CONVERTERS));

/** One Keras layer's class and config → the tfjs config (name, trainable and dtype included). */
export function convertLayerConfig(className: string, c: Cfg): Cfg {
  const name = String(c.name ?? '');
  if (className === 'Lambda') unsupported(name, 'a Lambda layer is Python code; it cannot be imported', { className });
  if (className === 'Functional' || className === 'Sequential' || className === 'Model') {
    unsupported(name, 'nested models are not supported: save the model flattened', { className });
  }
  const convert = CONVERTERS[className];
  if (!convert) unsupported(name, `layer class ${JSON.stringify(className.slice(0, 60))} is not supported`, { className: className.slice(0, 60) });
  for (const k of ['activity_regularizer', 'kernel_constraint', 'bias_constraint', 'depthwise_constraint', 'pointwise_constraint', 'embeddings_constraint']) {
    // They change what training does; refuse rather than train a different model.
    if (c[k] !== undefined && c[k] !== null) unsupported(name, `option ${k} is not supported`, { option: k });
  }
  return { name, trainable: c.trainable !== false, dtype: dtypeOf(name, c), ...convert(name, c) };
}
