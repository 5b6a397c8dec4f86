// The kernels and gradients registered for native TensorFlow
// (apps/shared/ml/native-kernels/) compute what tfjs's generic ones compute:
// checked against the cpu backend in the same process. Native only (`npm run test:native`).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { initTestBackend } from './helpers/backend.ts';

const X = [-2, -0.5, 0, 0.5, 3, -1e-8, 1e-8, 7];
const DY = [1, 2, 3, 4, 5, 6, 7, 8];

async function reluGrad(backend: string): Promise<number[]> {
  assert.ok(await tf.setBackend(backend));
  return tf.tidy(() => {
    const dx = tf.grad((x: tf.Tensor) => tf.relu(x))(tf.tensor1d(X), tf.tensor1d(DY));
    return Array.from(dx.dataSync());
  });
}

describe('native kernels', () => {
  let native = false;
  before(async () => {
    native = (await initTestBackend()).name === 'tensorflow';
  });

  it('ReLU\'s gradient (TensorFlow\'s ReluGrad) is dy where x > 0 and 0 elsewhere, as tfjs\'s rule on cpu', async (t) => {
    if (!native) return t.skip('native TensorFlow only (npm run test:native)');
    const [onNative, onCpu] = [await reluGrad('tensorflow'), await reluGrad('cpu')];
    await tf.setBackend('tensorflow');
    assert.deepEqual(onNative, [0, 0, 0, 4, 5, 0, 7, 8]);
    assert.deepEqual(onNative, onCpu);
  });
});
