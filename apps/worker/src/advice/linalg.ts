// Small dense linear algebra on Float64Arrays (row-major) for the advisor's
// measurements: the feature dimensions it works with are at most a few
// hundred, so a cyclic Jacobi eigensolver is exact enough and fast enough,
// and keeps TensorFlow (float32) out of numbers that need float64.

/** A row-major n×d matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  const m = { rows, cols, data: new Float64Array(rows * cols) };
  if (data) {
    if (data.length !== rows * cols) throw new Error(`matrix: ${data.length} values for ${rows}×${cols}`);
    m.data.set(data);
  }
  return m;
}

/** Fᵀ F (d×d). */
export function gram(f: Matrix): Matrix {
  const { rows: n, cols: d, data } = f;
  const g = new Float64Array(d * d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const v = data[o + i];
      if (v === 0) continue;
      const gi = i * d;
      for (let j = i; j < d; j++) g[gi + j] += v * data[o + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) g[i * d + j] = g[j * d + i];
  return { rows: d, cols: d, data: g };
}

/** Fᵀ y (length d). */
export function transposeTimes(f: Matrix, y: Float64Array): Float64Array {
  const out = new Float64Array(f.cols);
  for (let r = 0; r < f.rows; r++) {
    const yr = y[r];
    if (yr === 0) continue;
    const o = r * f.cols;
    for (let i = 0; i < f.cols; i++) out[i] += f.data[o + i] * yr;
  }
  return out;
}

/** F x (length n). */
export function times(f: Matrix, x: Float64Array): Float64Array {
  const out = new Float64Array(f.rows);
  for (let r = 0; r < f.rows; r++) {
    let s = 0;
    const o = r * f.cols;
    for (let i = 0; i < f.cols; i++) s += f.data[o + i] * x[i];
    out[r] = s;
  }
  return out;
}

export interface Eigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as columns of a d×d row-major matrix, in the values' order. */
  vectors: Matrix;
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigen(s: Matrix, maxSweeps = 100): Eigen {
  const d = s.rows;
  const a = Float64Array.from(s.data);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < d; i++) {
      diag += a[i * d + i] * a[i * d + i];
      for (let j = i + 1; j < d; j++) off += a[i * d + j] * a[i * d + j];
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d - 1; p++) for (let q = p + 1; q < d; q++) rotate(a, v, d, p, q);
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j * d + j] - a[i * d + i]);
  const values = Float64Array.from(order, (i) => a[i * d + i]);
  const vectors = matrix(d, d);
  for (let r = 0; r < d; r++) order.forEach((c, k) => (vectors.data[r * d + k] = v[r * d + c]));
  return { values, vectors };
}

/** One Jacobi rotation zeroing a[p][q] (Numerical Recipes' stable form). */
function rotate(a: Float64Array, v: Float64Array, d: number, p: number, q: number): void {
  const apq = a[p * d + q];
  if (Math.abs(apq) < 1e-300) return;
  const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
  const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < d; k++) {
    const akp = a[k * d + p];
    const akq = a[k * d + q];
    a[k * d + p] = c * akp - s * akq;
    a[k * d + q] = s * akp + c * akq;
  }
  for (let k = 0; k < d; k++) {
    const apk = a[p * d + k];
    const aqk = a[q * d + k];
    a[p * d + k] = c * apk - s * aqk;
    a[q * d + k] = s * apk + c * aqk;
  }
  for (let k = 0; k < d; k++) {
    const vkp = v[k * d + p];
    const vkq = v[k * d + q];
    v[k * d + p] = c * vkp - s * vkq;
    v[k * d + q] = s * vkp + c * vkq;
  }
}

/** Solves A x = b for symmetric positive definite A (Cholesky), one right-hand side per entry of `bs`. */
export function solveSpd(a: Matrix, bs: Float64Array[]): Float64Array[] {
  const d = a.rows;
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a.data[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (s <= 0) throw new Error('solveSpd: the matrix is not positive definite');
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  return bs.map((b) => {
    const y = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= l[i * d + k] * y[k];
      y[i] = s / l[i * d + i];
    }
    const x = new Float64Array(d);
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
      x[i] = s / l[i * d + i];
    }
    return x;
  });
}
