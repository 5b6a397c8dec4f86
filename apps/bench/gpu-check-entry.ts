// The entry of the carried gpu-check bundle: the WebGPU backend bundled in, with
// the same tfjs as everything else (it is loaded once Dawn has set up
// navigator.gpu), then gpu-check itself.
import { loadWebgpuBackendWith } from '../shared/ml/tf.ts';

// @ts-expect-error: an optional package, fetched into .gpu-check/ by npm run gpu-check:bundle.
loadWebgpuBackendWith(() => import('@tensorflow/tfjs-backend-webgpu'));
void import('./gpu-check.ts');
