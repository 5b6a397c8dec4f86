// The few members of tfjs-node's NodeJSKernelBackend that our kernels use: it
// runs any TensorFlow op by name (TFE_Execute), so an op tfjs never calls is
// one line away.
import * as tf from '@tensorflow/tfjs';

export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface Binding {
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
}

export interface NodeBackend {
  binding: Binding;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], outputs: number): tf.Tensor[];
}

export const BACKEND = 'tensorflow';

export function nodeBackend(): NodeBackend {
  return tf.findBackend(BACKEND) as unknown as NodeBackend;
}

/** A float32 type attribute (`T` of most ops, `dtype` of variables). */
export function floatAttr(b: NodeBackend, name = 'T'): OpAttr {
  return { name, type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
}
