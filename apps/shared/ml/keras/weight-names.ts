// The names and order of each layer's variables, as Keras stores them
// (layers/<key>/vars/0, 1, … in a .keras; <layer>/<name> in a legacy .h5)
// and as tfjs looks them up ("<layer>/<name>").
import type { Cfg } from './layer-config.ts';

/** A layer's variable names in Keras' order; [] for a layer without weights. */
export function weightNames(className: string, c: Cfg): string[] {
  const bias = c.use_bias === false ? [] : ['bias'];
  switch (className) {
    case 'Dense':
    case 'Conv1D':
    case 'Conv2D':
      return ['kernel', ...bias];
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [...(c.scale === false ? [] : ['gamma']), ...(c.center === false ? [] : ['beta']), 'moving_mean', 'moving_variance'];
    case 'LayerNormalization':
      return [...(c.scale === false ? [] : ['gamma']), ...(c.center === false ? [] : ['beta'])];
    case 'Normalization':
      // Adapted: Keras also keeps an int64 `count` (not used to compute); given in the config: no variables.
      return (c.mean ?? null) === null ? ['mean', 'variance', 'count'] : [];
    case 'Embedding':
      return ['embeddings'];
    default:
      return [];
  }
}

/** Keras' naming.to_snake_case: the key a layer's variables get in a .keras file. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The key of each layer under layers/ in a .keras file: its class in snake
 * case, numbered from the second of a class on (conv2d, conv2d_1, …), in the
 * order of model.layers (which leaves out a Sequential model's InputLayer).
 */
export function kerasLayerKeys(classNames: string[]): string[] {
  const used = new Map<string, number>();
  return classNames.map((cls) => {
    const base = toSnakeCase(cls);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  });
}
