// Adadelta's update as TensorFlow's ResourceApplyAdadelta: one kernel that
// reads and writes the weight and both accumulators in a single pass, where
// the same rule in tfjs ops is sixteen element-wise kernels, each allocating a
// full-size tensor. The kernel works on resource variables, so the two
// accumulators live in TensorFlow as such (anonymous: freed with their handle),
// and the weight goes in and comes back out each step (a buffer shared in, one
// copy when the kernel writes it).
import * as tf from '@tensorflow/tfjs';
import { floatAttr, nodeBackend } from './backend.ts';

// TensorFlow's ResourceHandle::ANONYMOUS_NAME: the variable lives as long as its handle.
const ANONYMOUS = 'cd2c89b7-88b7-44c8-ad83-06c2a9158347';

/** A TensorFlow resource variable held by its handle (a tfjs tensor of dtype 'string'). */
export class ResourceVariable {
  private readonly handle: tf.Tensor;

  constructor(initial: tf.Tensor) {
    const b = nodeBackend();
    const { TF_ATTR_SHAPE, TF_ATTR_STRING } = b.binding;
    this.handle = tf.keep(b.executeSingleOutput('VarHandleOp', [
      floatAttr(b, 'dtype'),
      { name: 'shape', type: TF_ATTR_SHAPE, value: initial.shape },
      { name: 'container', type: TF_ATTR_STRING, value: '' },
      { name: 'shared_name', type: TF_ATTR_STRING, value: ANONYMOUS },
    ], []));
    this.assign(initial);
  }

  /** The value now (the caller disposes it; it shares the variable's buffer until the variable is written). */
  read(): tf.Tensor {
    const b = nodeBackend();
    return b.executeSingleOutput('ReadVariableOp', [floatAttr(b, 'dtype')], [this.handle]);
  }

  assign(value: tf.Tensor): void {
    const b = nodeBackend();
    b.executeMultipleOutputs('AssignVariableOp', [floatAttr(b, 'dtype')], [this.handle, value], 0);
  }

  get ref(): tf.Tensor {
    return this.handle;
  }

  dispose(): void {
    this.handle.dispose();
  }
}

export interface AdadeltaSlots {
  accGrad: ResourceVariable;
  accUpdate: ResourceVariable;
  /** Where the weight is updated: assigned (shared) before the step, read after. */
  weight: ResourceVariable;
}

/** Slots for `value`: the accumulators as given (zeros when not), which stay the caller's. */
export function adadeltaSlots(value: tf.Tensor, accGrad?: tf.Tensor, accUpdate?: tf.Tensor): AdadeltaSlots {
  const zeros = accGrad && accUpdate ? [] : [tf.zerosLike(value), tf.zerosLike(value)];
  const slots = { accGrad: new ResourceVariable(accGrad ?? zeros[0]), accUpdate: new ResourceVariable(accUpdate ?? zeros[1]), weight: new ResourceVariable(value) };
  tf.dispose(zeros);
  return slots;
}

/**
 * One step of Zeiler's rule (this step's accumulated gradient in the
 * denominator), as Keras and PyTorch: value ← value − lr·√(u+ε)/√(a+ε)·g with
 * a, u updated in place. Returns the new value; the caller disposes it.
 */
export function resourceAdadeltaStep(value: tf.Tensor, grad: tf.Tensor, slots: AdadeltaSlots, p: { learningRate: number; rho: number; epsilon: number }): tf.Tensor {
  const b = nodeBackend();
  return tf.tidy(() => {
    slots.weight.assign(value);
    const scalars = [p.learningRate, p.rho, p.epsilon].map((s) => tf.scalar(s));
    b.executeMultipleOutputs('ResourceApplyAdadelta', [floatAttr(b), { name: 'use_locking', type: b.binding.TF_ATTR_BOOL, value: false }],
      [slots.weight.ref, slots.accGrad.ref, slots.accUpdate.ref, ...scalars, grad], 0);
    return slots.weight.read();
  });
}
