// A k-fold linear probe: a ridge-regression classifier (one-hot targets,
// argmax) on standardised features, fitted in closed form, so it costs one
// small Cholesky solve per fold instead of training. Its accuracy says
// how linearly separable the classes are at a cut; at half and all of the
// sample it also gives the slope of the learning curve.
import { gram, solveSpd, transposeTimes, type Matrix } from './linalg.ts';

/** Held-out accuracy of the ridge classifier over k folds (examples assigned round-robin). */
export function probeAccuracy(f: Matrix, classes: ArrayLike<number>, numClasses: number, k = 5, ridge = 1e-2): number {
  const n = f.rows;
  if (n < 2 * k) k = Math.max(2, Math.floor(n / 2));
  let correct = 0;
  for (let fold = 0; fold < k; fold++) {
    const trainRows: number[] = [];
    const testRows: number[] = [];
    for (let r = 0; r < n; r++) (r % k === fold ? testRows : trainRows).push(r);
    const model = fit(f, classes, numClasses, trainRows, ridge);
    for (const r of testRows) if (model.predict(f.data.subarray(r * f.cols, (r + 1) * f.cols)) === classes[r]) correct++;
  }
  return correct / n;
}

interface Fitted {
  predict(row: ArrayLike<number>): number;
}

function fit(f: Matrix, classes: ArrayLike<number>, numClasses: number, rows: number[], ridge: number): Fitted {
  const d = f.cols;
  const p = d + 1; // standardised features and a bias column
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] += f.data[r * d + i] / rows.length;
  for (const r of rows) for (let i = 0; i < d; i++) sd[i] += (f.data[r * d + i] - mean[i]) ** 2 / rows.length;
  for (let i = 0; i < d; i++) sd[i] = Math.sqrt(sd[i]) || 1;
  const x = { rows: rows.length, cols: p, data: new Float64Array(rows.length * p) };
  rows.forEach((r, j) => {
    for (let i = 0; i < d; i++) x.data[j * p + i] = (f.data[r * d + i] - mean[i]) / sd[i];
    x.data[j * p + d] = 1;
  });
  const a = gram(x);
  const lambda = ridge * rows.length;
  for (let i = 0; i < p; i++) a.data[i * p + i] += lambda;
  // W = (XᵀX + λI)⁻¹ Xᵀ Y, one column per class.
  const w = solveSpd(a, Array.from({ length: numClasses }, (_, c) => transposeTimes(x, Float64Array.from(rows, (r) => (classes[r] === c ? 1 : 0)))));
  return {
    predict(row) {
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < numClasses; c++) {
        let s = w[c][d];
        for (let i = 0; i < d; i++) s += w[c][i] * ((row[i] - mean[i]) / sd[i]);
        if (s > bestScore) [best, bestScore] = [c, s];
      }
      return best;
    },
  };
}
