// Prepared uint8 pixels to the floats a base model expects, as Keras'
// preprocess_input presets do. Applied when examples are read, so one stored
// dataset serves bases that scale differently.
import type { Scaling } from './schema.ts';

// ImageNet statistics, RGB order.
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];
const avg = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** Per channel: value = pixel × mul[c] + add[c], and the channel order out. */
interface Affine {
  mul: number[];
  add: number[];
  /** Output channel c takes input channel order[c] (caffe is BGR). */
  order: number[];
}

function affine(scaling: Scaling, channels: number): Affine {
  const id = channels === 3 ? [0, 1, 2] : [0];
  const each = (f: (c: number) => number) => id.map(f);
  switch (scaling) {
    case 'unit':
      return { mul: each(() => 1 / 255), add: each(() => 0), order: id };
    case 'symmetric':
      return { mul: each(() => 1 / 127.5), add: each(() => -1), order: id };
    case 'raw':
      return { mul: each(() => 1), add: each(() => 0), order: id };
    case 'caffe':
      return channels === 3 ? { mul: [1, 1, 1], add: CAFFE_MEAN_BGR.map((m) => -m), order: [2, 1, 0] } : { mul: [1], add: [-avg(CAFFE_MEAN_BGR)], order: id };
    case 'torch': {
      const mean = channels === 3 ? TORCH_MEAN : [avg(TORCH_MEAN)];
      const std = channels === 3 ? TORCH_STD : [avg(TORCH_STD)];
      return { mul: std.map((s) => 1 / (255 * s)), add: mean.map((m, c) => -m / std[c]), order: id };
    }
  }
}

/** A scaler for one preset: writes `count` values of `pixels` (HWC uint8) from `from` into out at `at`, in one pass. */
export type PixelScaler = (pixels: Uint8Array, from: number, count: number, out: Float32Array, at: number) => void;

export function pixelScaler(channels: number, scaling: Scaling): PixelScaler {
  const { mul, add, order } = affine(scaling, channels);
  if (channels === 1) {
    const [m, a] = [mul[0], add[0]];
    return (pixels, from, count, out, at) => {
      for (let i = 0; i < count; i++) out[at + i] = pixels[from + i] * m + a;
    };
  }
  // Unrolled for RGB: the stream scales every example of every epoch with this.
  const [m0, m1, m2, a0, a1, a2, o0, o1, o2] = [...mul, ...add, ...order];
  return (pixels, from, count, out, at) => {
    for (let i = 0; i < count; i += 3) {
      const p = from + i;
      const q = at + i;
      out[q] = pixels[p + o0] * m0 + a0;
      out[q + 1] = pixels[p + o1] * m1 + a1;
      out[q + 2] = pixels[p + o2] * m2 + a2;
    }
  };
}

/** Writes `pixels` (HWC uint8) scaled into out at offset. */
export function scalePixels(pixels: Uint8Array, channels: number, scaling: Scaling, out: Float32Array, offset = 0): void {
  pixelScaler(channels, scaling)(pixels, 0, pixels.length, out, offset);
}
