// Adamax (Kingma & Ba 2015, algorithm 2), as Keras and PyTorch define it.
// tfjs 4.22's AdamaxOptimizer computes the same step but cannot save or
// restore its slots (getWeights throws), so a job could not checkpoint.
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';

interface Slots {
  /** First moment. */
  m: Variable;
  /** Exponentially weighted infinity norm. */
  u: Variable;
}

// Slots are kept by position in the gradient list, as tfjs's own optimizers
// do, so saved slots fit a rebuilt model whose variables have other names.
export class Adamax extends tf.Optimizer {
  private slots: Slots[] = [];

  constructor(
    public learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  applyGradients(grads: NamedTensorMap | Array<{ name: string; tensor: Tensor }>): void {
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    // The step about to be taken is number t = iterations + 1; its bias correction is 1 - beta1^t.
    const correction = 1 - this.beta1 ** (this.iterations + 1);
    list.forEach(({ name, tensor: g }, i) => {
      if (g == null) return;
      const value = tf.engine().registeredVariables[name];
      this.slots[i] ??= { m: tf.tidy(() => tf.zerosLike(value).variable(false)), u: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const { m, u } = this.slots[i];
      tf.tidy(() => {
        const newM = m.mul(this.beta1).add(g.mul(1 - this.beta1));
        const newU = tf.maximum(u.mul(this.beta2), g.abs());
        m.assign(newM);
        u.assign(newU);
        value.assign(value.sub(newM.div(newU.add(this.epsilon)).mul(this.learningRate / correction)));
      });
    });
    this.incrementIterations();
  }

  async getWeights() {
    const slots = this.slots.flatMap((s, i) => [{ name: `${i}/m`, tensor: s.m }, { name: `${i}/u`, tensor: s.u }]);
    return [await this.saveIterations(), ...slots];
  }

  async setWeights(weightValues: Array<{ name: string; tensor: Tensor }>): Promise<void> {
    const values = await this.extractIterations(weightValues);
    this.dispose();
    for (let i = 0; i + 1 < values.length; i += 2) {
      this.slots.push({ m: values[i].tensor.variable(false), u: values[i + 1].tensor.variable(false) });
    }
  }

  dispose(): void {
    for (const s of this.slots) tf.dispose([s.m, s.u]);
    this.slots = [];
  }

  getConfig() {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static className = 'AdamaxWithSlots';
}
