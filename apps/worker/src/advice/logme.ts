// LogME (You, Liu, Wang, Long: "LogME: Practical Assessment of Pre-trained
// Models for Transfer Learning", ICML 2021): how well a frozen feature
// extractor suits a labelled task, without training. For each one-hot class
// column y, a Bayesian linear model y = F w + noise, with prior w ~ N(0, 1/α)
// and noise ~ N(0, 1/β), has a marginal likelihood (evidence) p(y | F, α, β);
// α and β are set to maximise it by the paper's fixed-point iteration, and the
// score is the per-example log evidence averaged over the classes. Higher is
// better; scores compare feature extractors (cut layers) on the same task.
// This follows the authors' reference code (one eigen-decomposition of FᵀF,
// then at most 11 fixed-point steps per class, stopping when α/β moves < 1%).
import { gram, matrix, symmetricEigen, times, transposeTimes, type Eigen, type Matrix } from './linalg.ts';

export interface ClassEvidence {
  /** Log evidence per example. */
  evidence: number;
  alpha: number;
  beta: number;
}

export interface LogMe {
  /** Mean over classes of the per-example log evidence. */
  score: number;
  perClass: ClassEvidence[];
}

const EPSILON = 1e-5;

function classEvidence(f: Matrix, eig: Eigen, y: Float64Array, steps: number): ClassEvidence {
  const { rows: n, cols: d } = f;
  const s = eig.values;
  const v = eig.vectors;
  // tmp = Vᵀ Fᵀ y: the labels in the eigenbasis of FᵀF.
  const fty = transposeTimes(f, y);
  const tmp = new Float64Array(d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) tmp[k] += v.data[i * d + k] * fty[i];
  let alpha = 1;
  let beta = 1;
  let lam = alpha / beta;
  let alphaDe = 0;
  let betaDe = 0;
  const m = new Float64Array(d);
  for (let step = 0; step < steps; step++) {
    let gamma = 0;
    for (let k = 0; k < d; k++) gamma += s[k] / (s[k] + lam);
    // m = V diag(β / (α + β s)) Vᵀ Fᵀ y: the posterior mean of w.
    m.fill(0);
    for (let k = 0; k < d; k++) {
      const c = (tmp[k] * beta) / (alpha + beta * s[k]);
      for (let i = 0; i < d; i++) m[i] += v.data[i * d + k] * c;
    }
    alphaDe = 0;
    for (let i = 0; i < d; i++) alphaDe += m[i] * m[i];
    alpha = gamma / (alphaDe + EPSILON);
    const fitted = times(f, m);
    betaDe = 0;
    for (let r = 0; r < n; r++) betaDe += (y[r] - fitted[r]) ** 2;
    beta = (n - gamma) / (betaDe + EPSILON);
    const newLam = alpha / beta;
    if (Math.abs(newLam - lam) / lam < 0.01) break;
    lam = newLam;
  }
  let logDet = 0;
  for (let k = 0; k < d; k++) logDet += Math.log(alpha + beta * s[k]);
  const evidence =
    (d / 2) * Math.log(alpha) + (n / 2) * Math.log(beta) - 0.5 * logDet - (beta / 2) * (betaDe + EPSILON) - (alpha / 2) * (alphaDe + EPSILON) - (n / 2) * Math.log(2 * Math.PI);
  return { evidence: evidence / n, alpha, beta };
}

/** LogME of features `f` (n×d) for integer labels 0..numClasses-1. `steps`: at most this many fixed-point steps (the paper's 11). */
export function logme(f: Matrix, classes: ArrayLike<number>, numClasses: number, steps = 11): LogMe {
  if (classes.length !== f.rows) throw new Error(`logme: ${classes.length} labels for ${f.rows} rows`);
  const eig = symmetricEigen(gram(f));
  const perClass: ClassEvidence[] = [];
  for (let c = 0; c < numClasses; c++) {
    const y = Float64Array.from(classes, (k) => (k === c ? 1 : 0));
    perClass.push(classEvidence(f, eig, y, steps));
  }
  return { score: perClass.reduce((a, e) => a + e.evidence, 0) / numClasses, perClass };
}

export { matrix };
