// Adadelta as Zeiler's paper, Keras and PyTorch define it. tfjs 4.22's
// AdadeltaOptimizer divides by the accumulated squared gradient from *before*
// this step, so its first step is the raw gradient times the learning rate; at
// the recipe's lr 1.0 that wrecks a conv net (loss stuck at ln(classes)).
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { adadeltaStepWasm, canFuseAdadelta } from '../../../shared/ml/wasm-kernels/adadelta-step.ts';
import { adadeltaSlots, resourceAdadeltaStep, type AdadeltaSlots } from '../../../shared/ml/native-kernels/resource-adadelta.ts';

interface Slots {
  grad: Variable;
  update: Variable;
}

/** On native TensorFlow the accumulators are TensorFlow resource variables, updated by one fused kernel. */
const onNative = () => tf.getBackend() === 'tensorflow';

// Slots are kept by position in the gradient list, as tfjs's own optimizers
// do, so saved slots fit a rebuilt model whose variables have other names.
export class Adadelta extends tf.Optimizer {
  private slots: Slots[] = [];
  private native: AdadeltaSlots[] = [];
  /** Tensors getWeights read out of the native slots: ours until the next step. */
  private exported: Tensor[] = [];

  constructor(
    public learningRate: number,
    readonly rho = 0.95,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  applyGradients(grads: NamedTensorMap | Array<{ name: string; tensor: Tensor }>): void {
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    // Dropped before the step, so that TensorFlow can update the accumulators without copying them first.
    tf.dispose(this.exported);
    this.exported = [];
    list.forEach(({ name, tensor: g }, i) => {
      if (g == null) return;
      const value = tf.engine().registeredVariables[name];
      if (onNative()) {
        this.native[i] ??= adadeltaSlots(value);
        const next = resourceAdadeltaStep(value, g, this.native[i], this);
        value.assign(next);
        next.dispose();
        return;
      }
      let s = this.slots[i];
      if (!s) {
        s = { grad: tf.tidy(() => tf.zerosLike(value).variable(false)), update: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        this.slots[i] = s;
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
        return;
      }
      tf.tidy(() => {
        const newGrad = grad.mul(this.rho).add(g.square().mul(1 - this.rho));
        const step = update.add(this.epsilon).sqrt().div(newGrad.add(this.epsilon).sqrt()).mul(g);
        update.assign(update.mul(this.rho).add(step.square().mul(1 - this.rho)));
        grad.assign(newGrad);
        value.assign(value.sub(step.mul(this.learningRate)));
      });
    });
    this.incrementIterations();
  }

  async getWeights() {
    tf.dispose(this.exported);
    this.exported = this.native.flatMap((s) => [s.accGrad.read(), s.accUpdate.read()]);
    const pairs: Array<[Tensor, Tensor]> = this.native.length
      ? this.native.map((_, i) => [this.exported[2 * i], this.exported[2 * i + 1]])
      : this.slots.map((s) => [s.grad, s.update]);
    const slots = pairs.flatMap(([grad, update], i) => [{ name: `${i}/accum_grad`, tensor: grad }, { name: `${i}/accum_update`, tensor: update }]);
    return [await this.saveIterations(), ...slots];
  }

  async setWeights(weightValues: Array<{ name: string; tensor: Tensor }>): Promise<void> {
    const values = await this.extractIterations(weightValues);
    this.dispose();
    for (let i = 0; i + 1 < values.length; i += 2) {
      const [grad, update] = [values[i].tensor, values[i + 1].tensor];
      if (onNative()) this.native.push(adadeltaSlots(grad, grad, update));
      else this.slots.push({ grad: grad.variable(false), update: update.variable(false) });
    }
  }

  dispose(): void {
    for (const s of this.slots) tf.dispose([s.grad, s.update]);
    for (const s of this.native) [s.accGrad, s.accUpdate, s.weight].forEach((v) => v.dispose());
    tf.dispose(this.exported);
    this.slots = [];
    this.native = [];
    this.exported = [];
  }

  getConfig() {
    return { learningRate: this.learningRate, rho: this.rho, epsilon: this.epsilon };
  }

  static className = 'AdadeltaFixed';
}
