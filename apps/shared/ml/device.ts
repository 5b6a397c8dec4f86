// What the current backend computes on, in words, for backends that can say so
// in-process. Native TensorFlow is asked through its placement log instead
// (backend-probe.ts): tfjs-node has no call that names a result's device.
import { tf } from './tf.ts';

interface WebgpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

export async function describeDevice(): Promise<string> {
  switch (tf.getBackend()) {
    case 'webgpu': {
      const info = (tf.backend() as { adapterInfo?: WebgpuAdapterInfo }).adapterInfo;
      const words = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean) : [];
      return `GPU (WebGPU${words.length ? `: ${words.join(' ')}` : ''})`;
    }
    case 'wasm':
      return 'CPU (WebAssembly, XNNPACK)';
    case 'cpu':
      return 'CPU (JavaScript)';
    case 'tensorflow':
      return (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice ? 'GPU (as TensorFlow lists its devices)' : 'CPU (as TensorFlow lists its devices)';
    default:
      return 'unknown';
  }
}
