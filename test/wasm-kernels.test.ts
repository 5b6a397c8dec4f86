// The wasm kernels we register (apps/shared/ml/wasm-kernels) against the cpu
// backend, which has all of them natively, plus a conv net trained on wasm.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { registerWasmGradKernels } from '../apps/shared/ml/wasm-kernels/index.ts';
import { Adadelta } from '../apps/worker/src/pipeline/adadelta.ts';

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | tf.backend_util.ExplicitPadding;

// Small deterministic PRNG so failures reproduce.
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 * 2 - 1) * scale;
  });
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Runs `f` on cpu and then on wasm; returns both results' values. With
 * `checkKernels` the engine verifies that no kernel leaks backend data (its
 * IS_TEST mode; tfjs's own customGrad ops such as fused matMul and the
 * losses trip it, so whole-model runs leave it off).
 */
async function onBoth(f: () => tf.Tensor[], checkKernels = true): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    assert.ok(await tf.setBackend(backend));
    tf.env().set('IS_TEST', checkKernels);
    try {
      out.push(tf.tidy(f).map((t) => {
        const v = t.dataSync() as Float32Array;
        t.dispose();
        return v;
      }));
    } finally {
      tf.env().set('IS_TEST', false);
    }
  }
  return [out[0]!, out[1]!];
}

function assertClose(cpu: Float32Array[], wasm: Float32Array[], what: string): void {
  assert.equal(wasm.length, cpu.length);
  cpu.forEach((ref, k) => {
    const got = wasm[k]!;
    assert.equal(got.length, ref.length, `${what} [${k}] size`);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
    }
    assert.ok(worst < 1e-4, `${what} [${k}]: max difference ${worst}`);
  });
}

// Gradients of a binary op f(x, w) w.r.t. both inputs, for a random dy.
async function checkGrads(what: string, xShape: Shape4, wShape: Shape4,
  f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, seed: number): Promise<void> {
  const xs = values(size(xShape), seed);
  const ws = values(size(wShape), seed + 1);
  const [cpu, wasm] = await onBoth(() => {
    const x = tf.tensor4d(xs, xShape);
    const w = tf.tensor4d(ws, wShape);
    const y = f(x, w);
    const dy = tf.tensor4d(values(y.size, seed + 2), y.shape);
    return [y, ...tf.grads((a, b) => f(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy)];
  });
  assertClose(cpu, wasm, what);
}

describe('wasm training kernels', () => {
  before(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmGradKernels();
    registerWasmGradKernels(); // idempotent
  });

  const convCases: Array<[Shape4, number, number, number, Pad]> = [
    // x shape, kernel, out channels, stride, padding
    [[1, 5, 5, 1], 3, 2, 1, 'valid'],
    [[3, 7, 6, 3], 3, 2, 2, 'same'],
    [[3, 8, 8, 3], 3, 4, 2, 'valid'],
    [[1, 9, 7, 1], 2, 3, 2, 'same'],
    [[3, 6, 6, 3], 1, 1, 2, 'valid'],
    [[1, 7, 7, 3], 3, 3, 1, 'same'],
    [[3, 10, 9, 2], 5, 3, 3, 'same'],
    [[1, 7, 7, 2], 3, 2, 1, [[0, 0], [2, 0], [1, 3], [0, 0]]],
    [[3, 9, 8, 1], 3, 2, 2, [[0, 0], [4, 1], [0, 2], [0, 0]]],
  ];

  it('Conv2DBackpropFilter and Conv2DBackpropInput match cpu', async () => {
    let seed = 1;
    for (const [xShape, k, co, s, pad] of convCases) {
      await checkGrads(`conv2d ${JSON.stringify([xShape, k, co, s, pad])}`, xShape, [k, k, xShape[3], co],
        (x, w) => tf.conv2d(x, w, s, pad), seed += 10);
    }
  });

  it('the conv2d backprop kernels also accept NCHW', async () => {
    const x = values(2 * 3 * 7 * 6, 5);
    const dy = values(2 * 4 * 4 * 3, 6);
    const w = values(3 * 3 * 3 * 4, 7);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
    const [cpu, wasm] = await onBoth(() => [
      tf.engine().runKernel(tf.Conv2DBackpropFilter,
        { x: tf.tensor4d(x, [2, 3, 7, 6]), dy: tf.tensor4d(dy, [2, 4, 4, 3]) },
        { ...attrs, filterShape: [3, 3, 3, 4] }) as tf.Tensor,
      tf.engine().runKernel(tf.Conv2DBackpropInput,
        { dy: tf.tensor4d(dy, [2, 4, 4, 3]), filter: tf.tensor4d(w, [3, 3, 3, 4]) },
        { ...attrs, inputShape: [2, 3, 7, 6] }) as tf.Tensor,
    ]);
    assertClose(cpu, wasm, 'NCHW');
  });

  it('depthwise conv2d gradients match cpu', async () => {
    let seed = 100;
    const cases: Array<[Shape4, number, number, number, Pad]> = [
      // x shape, kernel, channel multiplier, stride, padding
      [[1, 5, 5, 1], 3, 1, 1, 'valid'],
      [[3, 7, 6, 3], 3, 2, 2, 'same'],
      [[3, 9, 7, 2], 2, 3, 2, 'same'],
      [[1, 8, 8, 3], 3, 1, 2, 'valid'],
    ];
    for (const [xShape, k, m, s, pad] of cases) {
      await checkGrads(`depthwise ${JSON.stringify([xShape, k, m, s, pad])}`, xShape, [k, k, xShape[3], m],
        (x, w) => tf.depthwiseConv2d(x, w, s, pad), seed += 10);
    }
  });

  it('MaxPoolGrad matches cpu, including all-negative windows and ties', async () => {
    const cases: Array<[Shape4, number, number, 'valid' | 'same']> = [
      [[3, 6, 6, 3], 2, 2, 'valid'],
      [[3, 7, 5, 2], 3, 2, 'same'],
      [[1, 9, 9, 1], 3, 1, 'same'],
      [[3, 5, 7, 3], 2, 1, 'valid'],
    ];
    let seed = 200;
    for (const [shape, p, s, pad] of cases) {
      const xs = values(size(shape), seed += 10);
      // Rounding creates ties, which must go to the first max like on cpu.
      const tied = xs.map((v) => Math.round(v * 2) / 2);
      for (const data of [xs, tied]) {
        const [cpu, wasm] = await onBoth(() => {
          const x = tf.tensor4d(data, shape);
          const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, p, s, pad);
          const dy = tf.tensor4d(values(f(x).size, seed + 1), f(x).shape);
          return [tf.grad(f)(x, dy)];
        });
        assertClose(cpu, wasm, `maxPool ${JSON.stringify([shape, p, s, pad])}`);
      }
    }
  });

  it('transposed matMul (dense-layer backprop) matches cpu', async () => {
    const cases: Array<[number[], number[]]> = [[[5, 7], [7, 3]], [[1, 5, 7], [1, 7, 3]], [[2, 5, 7], [2, 7, 3]]];
    for (const [aShape, bShape] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const swap = (s: number[]) => [...s.slice(0, -2), s.at(-1)!, s.at(-2)!];
          const sa = ta ? swap(aShape) : aShape;
          const sb = tb ? swap(bShape) : bShape;
          const [cpu, wasm] = await onBoth(() => [
            tf.matMul(tf.tensor(values(size(sa), 1), sa), tf.tensor(values(size(sb), 2), sb), ta, tb),
          ]);
          assertClose(cpu, wasm, `matMul ${JSON.stringify([sa, sb, ta, tb])}`);
        }
      }
    }
  });

  it('row gather (batches from cached features) matches cpu, and refuses bad indices', async () => {
    const idx = [4, 0, 4, 2, 1];
    const [cpu, wasm] = await onBoth(() => [
      tf.gather(tf.tensor(values(6 * 3 * 2, 3), [6, 3, 2]), tf.tensor1d(idx, 'int32')),
      tf.gather(tf.tensor1d([9, 8, 7, 6, 5, 4], 'int32'), tf.tensor1d(idx, 'int32')).toFloat(),
      // Not a row gather: still the backend's own kernel.
      tf.gather(tf.tensor(values(6 * 3, 4), [6, 3]), tf.tensor1d([2, 0], 'int32'), 1),
      tf.gather(tf.tensor(values(6 * 3, 5), [6, 3]), tf.tensor1d([], 'int32')),
    ]);
    assertClose(cpu, wasm, 'gather');
    assert.ok(await tf.setBackend('wasm'));
    assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32')), /not in \[0, 2\]/);
  });

  // A conv net without dropout (so both backends see the same function),
  // compared through its loss gradient w.r.t. every weight.
  it('a whole conv net has the same weight gradients as on cpu', async () => {
    const build = () => {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [9, 9, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }));
      m.add(tf.layers.batchNormalization());
      m.add(tf.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'tanh' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
      return m;
    };
    const [cpu, wasm] = await onBoth(() => {
      const model = build();
      model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(w.size, 300 + i, 0.5), w.shape)));
      const x = tf.tensor4d(values(4 * 9 * 9 * 2, 400), [4, 9, 9, 2]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(
        y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      const out = Object.keys(grads).sort().map((k) => grads[k]!);
      model.dispose();
      return out;
    }, false);
    assertClose(cpu, wasm, 'model gradients');
  });

  it('fits a small conv net with adadelta: loss falls, no tensors leak', async () => {
    assert.ok(await tf.setBackend('wasm'));
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, activation: 'relu' }));
    model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.dropout({ rate: 0.25 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    // Our Adadelta: tfjs 4.22's divides by a stale accumulator and blows up at lr 1.0.
    model.compile({ optimizer: new Adadelta(1.0), loss: 'categoricalCrossentropy' });
    // Class = which third of the image holds a bright bar: easy to learn.
    const n = 96;
    const xs = values(n * 144, 500, 0.1).map((v) => v + 0.1);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      labels.push(c);
      for (let r = 0; r < 12; r++) for (let col = c * 4; col < c * 4 + 4; col++) xs[i * 144 + r * 12 + col] = 1;
    }
    const x = tf.tensor4d(xs, [n, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat();
    // One warm-up step creates the optimizer's slots; after that a step must not grow memory.
    await model.fit(x.slice(0, 32), y.slice(0, 32), { epochs: 1, batchSize: 32, verbose: 0 });
    const tensorsBefore = tf.memory().numTensors;
    const history = await model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, shuffle: false });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leaked by training');
    const [first, second] = history.history.loss as number[];
    assert.ok(second! < first!, `loss ${first} -> ${second}`);
    model.dispose();
    tf.dispose([x, y]);
  });
});
