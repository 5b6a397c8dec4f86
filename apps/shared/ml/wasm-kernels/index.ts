// Kernels that tfjs-backend-wasm 4.22 lacks, gets wrong, or runs in scalar
// loops, for training conv nets; registerWasmGradKernels() installs them for 'wasm'.
import * as tf from '@tensorflow/tfjs';
import { makeBatchMatMul } from './batch-mat-mul.ts';
import { makeGather } from './gather.ts';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInput } from './conv2d-backprop-input.ts';
import {
  depthwiseConv2dBackpropFilter, depthwiseConv2dBackpropInput,
} from './depthwise-conv2d-backprop.ts';
import { maxPoolGrad } from './max-pool-grad.ts';

const BACKEND = 'wasm';

// Our kernelFuncs, so a second call can tell its own registrations apart.
const ours = new WeakSet<tf.KernelFunc>();

function install(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const existing = tf.getKernel(kernelName, BACKEND);
  if (existing && ours.has(existing.kernelFunc)) return;
  ours.add(kernelFunc);
  // Keep the backend's setup/dispose hooks: a wrapped kernel still needs them.
  const config: tf.KernelConfig = { ...existing, kernelName, backendName: BACKEND, kernelFunc };
  if (existing) tf.unregisterKernel(kernelName, BACKEND);
  tf.registerKernel(config);
}

/**
 * Registers the wasm kernels that conv-net training needs. Idempotent; call it
 * after importing '@tensorflow/tfjs-backend-wasm' (before or after setBackend).
 */
export function registerWasmGradKernels(): void {
  // Missing from the wasm backend: without it conv2d layers cannot train.
  install(tf.Conv2DBackpropFilter, conv2dBackpropFilter as tf.KernelFunc);
  // Also missing; needed by depthwiseConv2d / separableConv2d layers.
  install(tf.DepthwiseConv2dNativeBackpropInput, depthwiseConv2dBackpropInput as tf.KernelFunc);
  install(tf.DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dBackpropFilter as tf.KernelFunc);
  // Present but wrong for windows whose values are all <= 0.
  install(tf.MaxPoolGrad, maxPoolGrad as tf.KernelFunc);
  // Present but scalar; replaced by XNNPACK-backed versions for speed.
  install(tf.Conv2DBackpropInput, conv2dBackpropInput as tf.KernelFunc);
  const matMul = tf.getKernel(tf.BatchMatMul, BACKEND);
  if (matMul && !ours.has(matMul.kernelFunc)) {
    install(tf.BatchMatMul, makeBatchMatMul(matMul.kernelFunc));
  }
  // Present but element by element; batches are row gathers, which copy whole rows.
  const gather = tf.getKernel(tf.GatherV2, BACKEND);
  if (gather && !ours.has(gather.kernelFunc)) install(tf.GatherV2, makeGather(gather.kernelFunc));
}
