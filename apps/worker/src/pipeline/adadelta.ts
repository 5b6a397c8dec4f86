// Adadelta as Zeiler's paper, Keras and PyTorch define it. tfjs 4.22's
// AdadeltaOptimizer divides by the accumulated squared gradient from *before*
// this step, so its first step is the raw gradient times the learning rate; at
// the recipe's lr 1.0 that wrecks a conv net (loss stuck at ln(classes)).
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { adadeltaStepWasm, canFuseAdadelta } from '../../../shared/ml/wasm-kernels/adadelta-step.ts';

interface Slots {
  grad: Variable;
  update: Variable;
}

export class Adadelta extends tf.Optimizer {
  private readonly slots = new Map<string, Slots>();

  constructor(
    public learningRate: number,
    readonly rho = 0.95,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  applyGradients(grads: NamedTensorMap | Array<{ name: string; tensor: Tensor }>): void {
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    for (const { name, tensor: g } of list) {
      if (g == null) continue;
      const value = tf.engine().registeredVariables[name];
      let s = this.slots.get(name);
      if (!s) {
        s = { grad: tf.tidy(() => tf.zerosLike(value).variable(false)), update: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        this.slots.set(name, s);
      }
      const { grad, update } = s;
      const state = { value, grad: g, accGrad: grad, accUpdate: update };
      if (canFuseAdadelta(state)) {
        tf.tidy(() => {
          const [v, ag, au] = adadeltaStepWasm(state, this);
          grad.assign(ag);
          update.assign(au);
          value.assign(v);
        });
        continue;
      }
      tf.tidy(() => {
        const newGrad = grad.mul(this.rho).add(g.square().mul(1 - this.rho));
        const step = update.add(this.epsilon).sqrt().div(newGrad.add(this.epsilon).sqrt()).mul(g);
        update.assign(update.mul(this.rho).add(step.square().mul(1 - this.rho)));
        grad.assign(newGrad);
        value.assign(value.sub(step.mul(this.learningRate)));
      });
    }
    this.incrementIterations();
  }

  dispose(): void {
    for (const s of this.slots.values()) tf.dispose([s.grad, s.update]);
    this.slots.clear();
  }

  getConfig() {
    return { learningRate: this.learningRate, rho: this.rho, epsilon: this.epsilon };
  }

  static className = 'AdadeltaFixed';
}
