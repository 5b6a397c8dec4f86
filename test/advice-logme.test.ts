// LogME in TypeScript against a case checked by hand and against the authors'
// numpy code (the fixture says how it was made), and the eigensolver under it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gram, matrix, symmetricEigen } from '../apps/worker/src/advice/linalg.ts';
import { logme } from '../apps/worker/src/advice/logme.ts';

interface RefCase { seed: number; n: number; d: number; classes: number; separation: number; score: number; perClass: number[]; alpha: number[]; beta: number[] }
const reference = JSON.parse(readFileSync(new URL('./fixtures/advice/logme-reference.json', import.meta.url), 'utf8')) as { cases: RefCase[] };

/** The fixture's features: an integer LCG (exact, as Python's integers), class signal added to feature 0. */
function lcgFeatures(c: RefCase) {
  let state = BigInt(c.seed); // BigInt: the products pass 2^53
  const values = new Float64Array(c.n * c.d);
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245n + 12345n) % 2147483648n;
    values[i] = Number(state) / 2147483648 - 0.5;
  }
  const classes = Int32Array.from({ length: c.n }, (_, i) => i % c.classes);
  for (let r = 0; r < c.n; r++) values[r * c.d] += c.separation * classes[r];
  return { f: matrix(c.n, c.d, values), classes };
}

const close = (actual: number, expected: number, rel: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('LogME', () => {
  it('one fixed-point step on two examples matches the hand computation', () => {
    // F = [1; 1], y = [1, 0]: FᵀF = 2, Fᵀy = 1. From α = β = 1 (λ = 1): γ = 2/3, m = 1/3,
    // α = γ/m² = 6, residuals (2/3, -1/3) so β = (2 - γ)/(5/9) = 2.4. Evidence per example:
    // [½ log 6 + log 2.4 - ½ log(6 + 2.4·2) - 1.2·5/9 - 3·1/9 - log 2π] / 2 = -1.128151.
    // Class 1 (y = [0, 1]) is the mirror image: the same numbers.
    const r = logme(matrix(2, 1, [1, 1]), [0, 1], 2, 1);
    close(r.perClass[0].alpha, 6, 1e-3, 'alpha');
    close(r.perClass[0].beta, 2.4, 1e-3, 'beta');
    close(r.score, -1.128151, 1e-4, 'score');
  });

  for (const c of reference.cases) {
    it(`matches the numpy reference: n=${c.n} d=${c.d} classes=${c.classes} separation=${c.separation}`, () => {
      const { f, classes } = lcgFeatures(c);
      const r = logme(f, classes, c.classes);
      close(r.score, c.score, 1e-6, 'score');
      r.perClass.forEach((e, k) => {
        close(e.evidence, c.perClass[k], 1e-6, `class ${k} evidence`);
        close(e.alpha, c.alpha[k], 1e-5, `class ${k} alpha`);
        close(e.beta, c.beta[k], 1e-5, `class ${k} beta`);
      });
    });
  }

  it('scores features that separate the classes above features that do not', () => {
    const [noisy, clear] = [0, 2].map((separation) => lcgFeatures({ ...reference.cases[1], separation }));
    assert.ok(logme(clear.f, clear.classes, 4).score > logme(noisy.f, noisy.classes, 4).score);
  });

  it('the eigensolver reconstructs a symmetric matrix', () => {
    const { f } = lcgFeatures(reference.cases[1]);
    const g = gram(f);
    const { values, vectors } = symmetricEigen(g);
    const d = g.rows;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += vectors.data[i * d + k] * values[k] * vectors.data[j * d + k];
        close(s, g.data[i * d + j], 1e-9, `entry ${i},${j}`);
      }
    }
    for (let k = 1; k < d; k++) assert.ok(values[k - 1] >= values[k], 'descending');
  });
});
