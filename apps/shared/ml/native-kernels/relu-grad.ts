// ReLU's gradient as TensorFlow's own ReluGrad op. tfjs computes it as
// dy · step(x), and tfjs-node's Step is eight ops (IsNan, Greater, Select,
// and two full-size constants built in JavaScript and copied in): on the
// benchmark's conv net that was the largest cost of a training step.
import * as tf from '@tensorflow/tfjs';
import { BACKEND, floatAttr, nodeBackend } from './backend.ts';

export const RELU_GRAD = 'ReluGradNative';

const reluGradKernel: tf.KernelFunc = ({ inputs }) => {
  const { dy, x } = inputs as { dy: tf.Tensor; x: tf.Tensor };
  const b = nodeBackend();
  return b.executeSingleOutput('ReluGrad', [floatAttr(b)], [dy, x]);
};

/** Replaces Relu's gradient: TensorFlow's ReluGrad (dy where x > 0, else 0) on this backend. */
export function registerReluGrad(): void {
  if (!tf.getKernel(RELU_GRAD, BACKEND)) tf.registerKernel({ kernelName: RELU_GRAD, backendName: BACKEND, kernelFunc: reluGradKernel });
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      // Float only: ReluGrad has no int32 kernel; tfjs's own rule elsewhere (another backend, int inputs).
      if (tf.getBackend() !== BACKEND || x.dtype !== 'float32') return { x: () => tf.mul(d, tf.cast(tf.step(x), 'float32')) };
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: d, x }) as tf.Tensor };
    },
  });
}
