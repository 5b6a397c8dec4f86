// Every optimizer the service offers takes the steps its published update
// rule takes (checked after each of the first three steps, in float64 by
// hand, on cpu and on the backend under test), and continues from its saved slots, as a resumed
// job does: exactly, except Adam, to float rounding.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { initTestBackend } from './helpers/backend.ts';
import { OPTIMIZERS, type Hyperparameters } from '../apps/shared/jobs/spec.ts';
import { createOptimizer } from '../apps/worker/src/pipeline/optimizers.ts';

type Name = Hyperparameters['optimizer'];
type State = Record<string, number>;
/** One element's update: the new weight, given the weight, its gradient, its state (mutated) and the step number t (1-based). */
type Rule = (w: number, g: number, s: State, t: number) => number;

const EPS = 1e-7;
// float32 against float64: Adam's 1 − β2ᵗ (0.002 at t = 2) loses digits to cancellation, ~2e-6 here.
// A wrong constant, a missing bias correction or a stale accumulator moves a weight by 1e-3 or more.
const TOLERANCE = 1e-5;
const W0 = [1, -2];
const GRADS = [[0.5, -1], [0.25, 0.5], [-0.3, 0.1]];

const RULES: Record<Name, { lr: number; rule: Rule }> = {
  // w ← w − η·g
  sgd: { lr: 0.1, rule: (w, g) => w - 0.1 * g },
  // Polyak momentum as PyTorch and tfjs write it (Keras's v ← μv − ηg is the same at a constant η): v ← μv + g; w ← w − η·v, μ = 0.9.
  momentum: { lr: 0.1, rule: (w, g, s) => w - 0.1 * (s.v = 0.9 * (s.v ?? 0) + g) },
  // RMSprop (Hinton, lecture 6e), ρ = 0.9, ε inside the root as TensorFlow: r ← ρr + (1−ρ)g²; w ← w − η·g/√(r + ε).
  rmsprop: { lr: 0.1, rule: (w, g, s) => w - (0.1 * g) / Math.sqrt((s.r = 0.9 * (s.r ?? 0) + 0.1 * g * g) + EPS) },
  // Adam (Kingma & Ba, algorithm 1), β1 = 0.9, β2 = 0.999, with bias correction: w ← w − η·m̂/(√v̂ + ε).
  adam: {
    lr: 0.1,
    rule: (w, g, s, t) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      return w - (0.1 * (s.m / (1 - 0.9 ** t))) / (Math.sqrt(s.v / (1 - 0.999 ** t)) + EPS);
    },
  },
  // Adamax (Kingma & Ba, algorithm 2): m ← β1m + (1−β1)g; u ← max(β2u, |g|); w ← w − η/(1−β1ᵗ)·m/(u + ε).
  adamax: {
    lr: 0.1,
    rule: (w, g, s, t) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.u = Math.max(0.999 * (s.u ?? 0), Math.abs(g));
      return w - (0.1 / (1 - 0.9 ** t)) * (s.m / (s.u + EPS));
    },
  },
  // Adagrad (Duchi et al.), accumulator starting at 0.1 as in Keras: a ← a + g²; w ← w − η·g/√(a + ε).
  adagrad: { lr: 0.1, rule: (w, g, s) => w - (0.1 * g) / Math.sqrt((s.a = (s.a ?? 0.1) + g * g) + EPS) },
  // Adadelta (Zeiler), ρ = 0.95, η = 1: the step uses this step's accumulated gradient (tfjs 4.22 uses the stale one).
  adadelta: {
    lr: 1,
    rule: (w, g, s) => {
      s.acc = 0.95 * (s.acc ?? 0) + 0.05 * g * g;
      const step = (Math.sqrt((s.upd ?? 0) + EPS) / Math.sqrt(s.acc + EPS)) * g;
      s.upd = 0.95 * (s.upd ?? 0) + 0.05 * step * step;
      return w - step;
    },
  },
};

/** The weights after each step, by the rule. */
function expected(name: Name): number[][] {
  const states = W0.map((): State => ({}));
  let w = [...W0];
  return GRADS.map((g, t) => (w = w.map((v, i) => RULES[name].rule(v, g[i], states[i], t + 1))));
}

describe('optimizers: published update rules', () => {
  before(async () => {
    await initTestBackend();
  });

  it('covers every optimizer a job may name', () => {
    assert.deepEqual(Object.keys(RULES).sort(), [...OPTIMIZERS].sort());
  });

  for (const name of OPTIMIZERS) {
    it(`${name}: the first three steps are the published rule's, on cpu and on the backend under test; nothing leaks`, async () => {
      const want = expected(name);
      const original = tf.getBackend();
      try {
        for (const backend of new Set(['cpu', original])) {
          assert.ok(await tf.setBackend(backend));
          const before = tf.memory().numTensors;
          const w = tf.tidy(() => tf.variable(tf.tensor1d(W0)));
          const opt = createOptimizer(name, RULES[name].lr);
          GRADS.forEach((g, t) => {
            tf.tidy(() => opt.applyGradients({ [w.name]: tf.tensor1d(g) }));
            const got = w.dataSync();
            want[t].forEach((e, i) => assert.ok(Math.abs(got[i] - e) < TOLERANCE, `${backend}, step ${t + 1}, w[${i}]: ${got[i]} vs ${e}`));
          });
          opt.dispose();
          w.dispose();
          assert.equal(tf.memory().numTensors, before, `${backend}: tensors left behind`);
        }
      } finally {
        await tf.setBackend(original);
      }
    });
  }

  it('adam\'s first step is the bias-corrected one: each weight moves by the learning rate (uncorrected, √(1−β2)/(1−β1) ≈ 0.32 of it)', () => {
    const [first] = expected('adam');
    first.forEach((v, i) => assert.ok(Math.abs(Math.abs(v - W0[i]) - 0.1) < 1e-5, `${v}`));
  });

  for (const name of OPTIMIZERS) {
    it(`${name}: continues from its saved slots as if never stopped (a resumed job)`, async () => {
      const run = async (resumeAfter?: number) => {
        const w = tf.tidy(() => tf.variable(tf.tensor1d(W0)));
        let opt = createOptimizer(name, RULES[name].lr);
        for (const [t, g] of GRADS.entries()) {
          if (t === resumeAfter) {
            const saved = (await opt.getWeights()).map((s) => ({ name: s.name, tensor: s.tensor.clone() }));
            opt.dispose();
            opt = createOptimizer(name, RULES[name].lr);
            await opt.setWeights(saved);
          }
          tf.tidy(() => opt.applyGradients({ [w.name]: tf.tensor1d(g) }));
        }
        const out = Array.from(w.dataSync());
        opt.dispose();
        w.dispose();
        return out;
      };
      const [resumed, straight] = [await run(2), await run()];
      // tfjs's Adam multiplies its β-powers up step by step, but recomputes them as β^(t+1) when its
      // slots are restored: the same number, rounded another way, so the next step differs in the last bits.
      if (name === 'adam') resumed.forEach((v, i) => assert.ok(Math.abs(v - straight[i]) < 1e-6, `${v} vs ${straight[i]}`));
      else assert.deepEqual(resumed, straight);
    });
  }
});
