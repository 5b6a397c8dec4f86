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

// Shapes and parameter counts are computed without tfjs (the API uses them); the worker imports them from here too.
export { checkOutput, countParams, inferShape } from './layer-shapes.ts';
