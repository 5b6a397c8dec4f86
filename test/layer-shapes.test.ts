// The API checks a job's layers without tfjs (apps/shared/ml/layer-shapes.ts).
// Here the same specs are built with tfjs itself, as the worker builds them:
// every shape and parameter count the pure rules give must be tfjs's, and a
// spec they refuse must be one tfjs refuses or turns into an empty dimension.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tf } from '../apps/shared/ml/tf.ts';
import { buildLayer } from '../apps/shared/ml/layer-spec.ts';
import { countParams, inferShape, type Shape } from '../apps/shared/ml/layer-shapes.ts';
import { AppError } from '../apps/shared/errors.ts';
import type { LayerSpec } from '../apps/shared/jobs/spec.ts';

type TfResult = { shape: Shape; params: number; empty: boolean } | { threw: string };

/** The specs built with tfjs on an input of `shape`, layer by layer. */
function withTfjs(shape: Shape, specs: LayerSpec[]): TfResult {
  const input = tf.input({ shape: shape.slice(1) as number[] });
  let x = input;
  let empty = false;
  try {
    specs.forEach((spec, i) => {
      x = buildLayer(spec, `l${i}`).apply(x) as typeof x;
      empty ||= x.shape.slice(1).some((d) => d !== null && d <= 0);
    });
    if (empty) return { shape: x.shape, params: NaN, empty };
    const model = tf.model({ inputs: input, outputs: x });
    const params = model.countParams();
    model.dispose();
    return { shape: x.shape, params, empty };
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

const small = (max: number) => fc.integer({ min: 1, max });
const spec: fc.Arbitrary<LayerSpec> = fc.oneof(
  fc.record({ type: fc.constant('dense' as const), units: small(16) }),
  fc.record({ type: fc.constant('dropout' as const), rate: fc.constantFrom(0, 0.25, 0.5) }),
  fc.constant({ type: 'flatten' as const }),
  fc.record({ type: fc.constant('conv2d' as const), filters: small(6), kernelSize: small(7), strides: fc.option(small(4), { nil: undefined }), padding: fc.option(fc.constantFrom('valid' as const, 'same' as const), { nil: undefined }) }, { requiredKeys: ['type', 'filters', 'kernelSize'] }),
  fc.record({ type: fc.constant('maxPooling2d' as const), poolSize: small(4), strides: fc.option(small(4), { nil: undefined }) }, { requiredKeys: ['type', 'poolSize'] }),
  fc.constant({ type: 'batchNormalization' as const }),
  fc.constant({ type: 'activation' as const, activation: 'relu' as const }),
);
const inputShape: fc.Arbitrary<Shape> = fc.oneof(
  fc.tuple(small(40)).map((d) => [null, ...d]),
  fc.tuple(small(12), small(12)).map((d) => [null, ...d]),
  fc.tuple(small(20), small(20), small(4)).map((d) => [null, ...d]),
);

function compare(shape: Shape, specs: LayerSpec[]): void {
  const ours = (() => {
    try {
      return { shape: inferShape(shape, specs), params: countParams(shape, specs) };
    } catch (err) {
      assert.ok(err instanceof AppError && err.code === 'layer_not_buildable', `refused with ${(err as Error).message}`);
      return undefined;
    }
  })();
  const theirs = withTfjs(shape, specs);
  const where = `[${shape}] → ${JSON.stringify(specs)}`;
  if (ours) {
    assert.ok(!('threw' in theirs), `${where}: tfjs refuses what we accept: ${'threw' in theirs ? theirs.threw : ''}`);
    assert.deepEqual(ours.shape, theirs.shape, `${where}: shape`);
    assert.equal(ours.params, theirs.params, `${where}: parameters`);
  } else {
    assert.ok('threw' in theirs || theirs.empty, `${where}: we refuse what tfjs builds into [${'shape' in theirs ? theirs.shape : ''}]`);
  }
}

describe('layer shapes without tfjs', () => {
  it("gives tfjs's shapes and parameter counts for the models the tests and the demo use", () => {
    compare([null, 28, 28, 1], [{ type: 'flatten' }, { type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }]);
    compare([null, 28, 28, 1], [
      { type: 'conv2d', filters: 8, kernelSize: 3, activation: 'relu' },
      { type: 'maxPooling2d', poolSize: 2 },
      { type: 'conv2d', filters: 16, kernelSize: 3, padding: 'same', strides: 2 },
      { type: 'batchNormalization' },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 10, activation: 'softmax' },
    ]);
    compare([null, 4], [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 3, activation: 'softmax' }]);
    // Refused by both: a window larger than the image, a 2-D layer on vectors.
    compare([null, 5, 5, 1], [{ type: 'conv2d', filters: 2, kernelSize: 7 }]);
    compare([null, 16], [{ type: 'maxPooling2d', poolSize: 2 }]);
  });

  it('agrees with tfjs on random stacks of every layer type the schema allows', () => {
    fc.assert(fc.property(inputShape, fc.array(spec, { minLength: 1, maxLength: 5 }), (shape, specs) => compare(shape, specs)), { numRuns: 300 });
  });
});
