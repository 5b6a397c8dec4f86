// Augmentation of training images: each example's flip, crop/zoom, rotation,
// brightness and contrast are drawn from (seed, epoch, example index), so a
// resumed run, another thread count or a streamed read augments the same
// example the same way. Geometry is one projective transform per example
// (tf.image.transform: output pixel → input pixel), edges filled with the
// nearest pixel; brightness and contrast act on values, relative to each
// image's own value range (whatever the scaling preset), never the batch's.
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Augmentation } from '../../../shared/jobs/spec.ts';
import { seededRandom } from '../../../shared/seeded-random.ts';
import type { Augment } from './train-types.ts';

const exampleSeed = (seed: number, epoch: number, id: number) => (Math.imul(seed ^ 0x61c88647, 0x2545f491) ^ Math.imul(epoch + 1, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)) >>> 0;

interface Draw {
  transform: number[];
  shift: number;
  scale: number;
}

/** One example's draw: the transform's 8 coefficients and the value changes. */
function draw(a: Augmentation, rand: () => number, h: number, w: number): Draw {
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const flip = a.horizontalFlip && rand() < 0.5 ? -1 : 1;
  const s = a.crop ? between(1 - a.crop, 1) : 1;
  const theta = a.rotation ? (between(-a.rotation, a.rotation) * Math.PI) / 180 : 0;
  const tx = between(-1, 1) * ((1 - s) * w) / 2;
  const ty = between(-1, 1) * ((1 - s) * h) / 2;
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  const [cos, sin] = [Math.cos(theta), Math.sin(theta)];
  // x_in = cx + tx + s(cos·f(x-cx) - sin(y-cy)); y_in = cy + ty + s(sin·f(x-cx) + cos(y-cy))
  const transform = [s * cos * flip, -s * sin, cx + tx - s * cos * flip * cx + s * sin * cy, s * sin * flip, s * cos, cy + ty - s * sin * flip * cx - s * cos * cy, 0, 0];
  const shift = a.brightness ? between(-a.brightness, a.brightness) : 0;
  const scale = a.contrast ? between(1 - a.contrast, 1 + a.contrast) : 1;
  return { transform, shift, scale };
}

/** Whether the augmentation asks for anything. */
export const augments = (a: Augmentation | undefined): a is Augmentation => !!a && (!!a.horizontalFlip || !!a.crop || !!a.rotation || !!a.brightness || !!a.contrast);

export function augmenter(a: Augmentation, seed: number): Augment {
  return (x: Tensor, ids: Int32Array, epoch: number) => {
    // Only images ([batch, height, width, channels]) are augmented.
    if (x.rank !== 4) return x.clone();
    const [n, h, w] = x.shape as [number, number, number, number];
    const draws = Array.from(ids, (id) => draw(a, seededRandom(exampleSeed(seed, epoch, id)), h, w));
    return tf.tidy(() => {
      const geometric = a.horizontalFlip || a.crop || a.rotation;
      const moved = geometric ? tf.image.transform(x as Tensor4D, tf.tensor2d(draws.flatMap((d) => d.transform), [n, 8]), 'bilinear', 'nearest') : x;
      if (!a.brightness && !a.contrast) return moved;
      const range = tf.max(x, [1, 2, 3], true).sub(tf.min(x, [1, 2, 3], true));
      const mean = moved.mean([1, 2, 3], true);
      const scale = tf.tensor(draws.map((d) => d.scale), [n, 1, 1, 1]);
      const shift = tf.tensor(draws.map((d) => d.shift), [n, 1, 1, 1]).mul(range);
      return moved.sub(mean).mul(scale).add(mean).add(shift);
    });
  };
}
