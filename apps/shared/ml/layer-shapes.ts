// Output shapes and parameter counts of a job's layer specs (a head, or a
// pretrain architecture), computed as tfjs would, without tfjs: the API checks
// a job at POST time with these, and so never loads TensorFlow.js. The rules
// follow tfjs-layers' computeOutputShape for each layer the schema allows
// (channels last); test/layer-shapes.test.ts compares them with tfjs itself.
import { UnprocessableError } from '../errors.ts';
import type { LayerSpec } from '../jobs/spec.ts';

export type Shape = Array<number | null>;

const RANK: Partial<Record<LayerSpec['type'], [number, number]>> = {
  // [min, max] rank including the batch dimension
  conv2d: [4, 4],
  maxPooling2d: [4, 4],
  flatten: [3, Infinity],
  dense: [2, Infinity],
};

/** tfjs's convOutputLength (dilation 1): what a window of `size` moving by `stride` leaves of `length`. */
function windowed(length: number | null, size: number, padding: 'valid' | 'same', stride: number): number | null {
  if (length === null) return null;
  const covered = padding === 'same' ? length : length - size + 1;
  return Math.floor((covered + stride - 1) / stride);
}

function notBuildable(i: number, spec: LayerSpec, shape: Shape, why = ''): UnprocessableError {
  return new UnprocessableError('layer_not_buildable', `Layer ${i} (${spec.type}) cannot follow shape [${shape.join(', ')}]${why}`, { layer: i, inputShape: shape });
}

/** One layer's output shape; `i` names it in a refusal. */
function outputShape(spec: LayerSpec, shape: Shape, i: number): Shape {
  const [min, max] = RANK[spec.type] ?? [1, Infinity];
  if (shape.length < min || shape.length > max) throw notBuildable(i, spec, shape);
  switch (spec.type) {
    case 'dense':
      return [...shape.slice(0, -1), spec.units];
    case 'flatten': {
      // tfjs refuses to flatten a dimension it does not know.
      if (shape.slice(1).some((d) => d === null)) throw notBuildable(i, spec, shape, ': flatten needs every dimension but the batch');
      return [shape[0], (shape.slice(1) as number[]).reduce((a, b) => a * b, 1)];
    }
    case 'conv2d': {
      const strides = spec.strides ?? 1;
      const padding = spec.padding ?? 'valid';
      return [shape[0], windowed(shape[1], spec.kernelSize, padding, strides), windowed(shape[2], spec.kernelSize, padding, strides), spec.filters];
    }
    case 'maxPooling2d': {
      const strides = spec.strides ?? spec.poolSize;
      return [shape[0], windowed(shape[1], spec.poolSize, 'valid', strides), windowed(shape[2], spec.poolSize, 'valid', strides), shape[3]];
    }
    case 'dropout':
    case 'batchNormalization':
    case 'activation':
      return shape;
  }
}

/** The output shape of `specs` applied to `inputShape` (batch dimension first). */
export function inferShape(inputShape: Shape, specs: LayerSpec[]): Shape {
  let shape = inputShape;
  specs.forEach((spec, i) => {
    const next = outputShape(spec, shape, i);
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
    // gamma, beta and the two moving statistics
    if (spec.type === 'batchNormalization') total += 4 * last;
    shape = inferShape(shape, [spec]);
  }
  return total;
}

/** The output must be one class-probability vector per example. */
export function checkOutput(output: { shape: Shape }, numClasses: number): void {
  const shape = output.shape;
  if (shape.length !== 2 || shape[1] !== numClasses) {
    throw new UnprocessableError(
      'class_count_mismatch',
      `The model's output shape is [${shape.join(', ')}], but the dataset has ${numClasses} classes: the last layer must be dense with ${numClasses} units`,
      { outputShape: shape, numClasses },
    );
  }
}
