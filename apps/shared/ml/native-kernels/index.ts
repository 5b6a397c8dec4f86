// Kernels and gradients for tfjs-node's 'tensorflow' backend that run as fewer,
// larger TensorFlow ops than tfjs's generic ones. registerNativeKernels()
// installs them once the native backend is selected.
import { registerReluGrad } from './relu-grad.ts';

export function registerNativeKernels(): void {
  registerReluGrad();
}
