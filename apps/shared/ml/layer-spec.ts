// Turns the layer specs of a job (head layers, or a pretrain architecture)
// into tfjs layers. The TypeBox schema in jobs/spec.ts bounds every field.
import type { layers as tfLayers, SymbolicTensor } from '@tensorflow/tfjs';

// The schema's activation names are all tfjs ActivationIdentifiers.
type Activation = Parameters<typeof tf.layers.activation>[0]['activation'];
import { tf } from './tf.ts';
import { UnprocessableError } from '../errors.ts';
import type { LayerSpec } from '../jobs/spec.ts';

type Layer = tfLayers.Layer;

export function buildLayer(spec: LayerSpec, name: string): Layer {
  switch (spec.type) {
    case 'dense':
      return tf.layers.dense({ name, units: spec.units, activation: (spec.activation ?? 'linear') as Activation });
    case 'dropout':
      return tf.layers.dropout({ name, rate: spec.rate });
    case 'flatten':
      return tf.layers.flatten({ name });
    case 'conv2d':
      return tf.layers.conv2d({
        name,
        filters: spec.filters,
        kernelSize: spec.kernelSize,
        strides: spec.strides ?? 1,
        padding: spec.padding ?? 'valid',
        activation: (spec.activation ?? 'linear') as Activation,
      });
    case 'maxPooling2d':
      return tf.layers.maxPooling2d({ name, poolSize: spec.poolSize, strides: spec.strides });
    case 'batchNormalization':
      return tf.layers.batchNormalization({ name });
    case 'activation':
      return tf.layers.activation({ name, activation: spec.activation as Activation });
  }
}

/** Applies specs on top of `input`; names avoid any already taken by the base. */
export function applyLayers(input: SymbolicTensor, specs: LayerSpec[], prefix: string, taken: Set<string>): SymbolicTensor {
  let x = input;
  specs.forEach((spec, i) => {
    let name = spec.name ?? `${prefix}_${i}_${spec.type.toLowerCase()}`;
    for (let n = 2; taken.has(name); n++) name = `${spec.name ?? `${prefix}_${i}_${spec.type.toLowerCase()}`}_${n}`;
    taken.add(name);
    try {
      x = buildLayer(spec, name).apply(x) as SymbolicTensor;
    } catch (err) {
      throw new UnprocessableError('layer_not_buildable', `Layer ${i} (${spec.type}) cannot follow shape [${x.shape.join(', ')}]: ${(err as Error).message}`, {
        layer: i,
        inputShape: x.shape,
      });
    }
  });
  return x;
}

type Shape = Array<number | null>;

const MIN_RANK: Partial<Record<LayerSpec['type'], [number, number]>> = {
  // [min, max] rank including the batch dimension
  conv2d: [4, 4],
  maxPooling2d: [4, 4],
  flatten: [3, Infinity],
  dense: [2, Infinity],
};

/**
 * The output shape of `specs` applied to `inputShape` (batch dimension first),
 * computed without building any layer, so no weights are allocated to check a spec.
 */
export function inferShape(inputShape: Shape, specs: LayerSpec[]): Shape {
  let shape = inputShape;
  specs.forEach((spec, i) => {
    const [min, max] = MIN_RANK[spec.type] ?? [1, Infinity];
    if (shape.length < min || shape.length > max) {
      throw new UnprocessableError('layer_not_buildable', `Layer ${i} (${spec.type}) cannot follow shape [${shape.join(', ')}]`, { layer: i, inputShape: shape });
    }
    const next = buildLayer(spec, `probe_${i}`).computeOutputShape(shape) as Shape;
    if (next.slice(1).some((d) => d !== null && (!Number.isFinite(d) || d <= 0))) {
      throw new UnprocessableError('layer_not_buildable', `Layer ${i} (${spec.type}) turns shape [${shape.join(', ')}] into [${next.join(', ')}]`, { layer: i, inputShape: shape });
    }
    shape = next;
  });
  return shape;
}

/** Parameters the specs would create on `inputShape`, counted before anything is allocated. */
export function countParams(inputShape: Shape, specs: LayerSpec[]): number {
  let shape = inputShape;
  let total = 0;
  for (const spec of specs) {
    const last = Number(shape[shape.length - 1] ?? 0);
    if (spec.type === 'dense') total += last * spec.units + spec.units;
    if (spec.type === 'conv2d') total += spec.kernelSize * spec.kernelSize * last * spec.filters + spec.filters;
    if (spec.type === 'batchNormalization') total += 4 * last;
    shape = inferShape(shape, [spec]);
  }
  return total;
}

/** The output must be one class-probability vector per example. */
export function checkOutput(output: SymbolicTensor | { shape: Shape }, numClasses: number): void {
  const shape = output.shape;
  if (shape.length !== 2 || shape[1] !== numClasses) {
    throw new UnprocessableError(
      'class_count_mismatch',
      `The model's output shape is [${shape.join(', ')}], but the dataset has ${numClasses} classes: the last layer must be dense with ${numClasses} units`,
      { outputShape: shape, numClasses },
    );
  }
}
