// tfjs-backend-wasm 4.22 gathers element by element with stride arithmetic:
// picking a 128-row batch out of a frozen base's cached features cost ~20 ms,
// as much as the head's forward and backward pass. Gathering whole rows along
// axis 0 is a memcpy per row on the wasm heap.
import * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './tensor-info.ts';

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/** Wraps the wasm backend's own GatherV2 kernel (`original`). */
export function makeGather(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs & { backend: unknown }) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    const bytes = BYTES[x.dtype];
    const rank = x.shape.length;
    if (!bytes || batchDims !== 0 || (axis !== 0 && axis !== -rank) || indices.shape.length !== 1 || rank === 0) {
      return original(args as never);
    }
    const backend = args.backend as WasmBackend;
    const rows = x.shape[0];
    const rowBytes = (x.shape.slice(1).reduce((a, b) => a * b, 1)) * bytes;
    const idx = backend.readSync(indices.dataId);
    for (let i = 0; i < idx.length; i++) {
      if (!(idx[i] >= 0 && idx[i] < rows)) throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${rows - 1}]`);
    }
    const out = backend.makeOutput([idx.length, ...x.shape.slice(1)], x.dtype);
    if (rowBytes === 0) return out;
    // Read the heap after allocating: a malloc may grow (and replace) it.
    const heap = backend.wasm.HEAPU8;
    const src = backend.dataIdMap.get(x.dataId).memoryOffset;
    const dst = backend.dataIdMap.get(out.dataId).memoryOffset;
    for (let i = 0; i < idx.length; i++) heap.copyWithin(dst + i * rowBytes, src + idx[i] * rowBytes, src + (idx[i] + 1) * rowBytes);
    return out;
  };
}
