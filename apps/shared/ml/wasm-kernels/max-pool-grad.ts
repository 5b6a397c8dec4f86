// tfjs-backend-wasm 4.22's MaxPoolGrad seeds its running max with
// numeric_limits<float>::min() (the smallest *positive* float), so a window
// whose values are all <= 0 sends its gradient to element 0 of the tensor or
// drops it, and ties go to the last max. We replace it with the cpu backend's
// rule (first strict max per window, NHWC), looping in JS over the wasm heap.
import * as tf from '@tensorflow/tfjs';

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

export function maxPoolGrad({ inputs, backend, attrs }: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { input, dy } = inputs as { input: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as WasmHeapBackend;
  const out = wasm.makeOutput(input.shape, 'float32');
  // Views only after makeOutput: allocating may grow (and detach) the heap.
  const x = wasm.typedArrayFromHeap(input);
  const g = wasm.typedArrayFromHeap(dy);
  const dx = wasm.typedArrayFromHeap(out);
  dx.fill(0);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const best = new Float32Array(C);
  const at = new Int32Array(C);
  let gi = 0; // dy is walked in order: [b, yR, yC, d]
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const r0 = yR * sh - info.padInfo.top;
      const rMin = Math.max(r0, 0);
      const rMax = Math.min(r0 + fh, H);
      for (let yC = 0; yC < outWidth; yC++) {
        const c0 = yC * sw - info.padInfo.left;
        const cMin = Math.max(c0, 0);
        const cMax = Math.min(c0 + fw, W);
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let c = cMin; c < cMax; c++) {
            const base = ((b * H + r) * W + c) * C;
            for (let d = 0; d < C; d++) {
              const v = x[base + d]!;
              if (v > best[d]!) { best[d] = v; at[d] = base + d; }
            }
          }
        }
        for (let d = 0; d < C; d++, gi++) {
          const p = at[d]!;
          if (p >= 0) dx[p] += g[gi]!;
        }
      }
    }
  }
  return out;
}
