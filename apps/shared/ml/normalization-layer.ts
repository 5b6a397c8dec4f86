// Keras' `Normalization` layer for TensorFlow.js, which has none: computes
// exactly what Keras 3 does, (x - mean) / max(sqrt(variance), 1e-7) (or the
// inverse), with the mean and variance either adapted (non-trainable weights
// "mean" and "variance", shaped like the kept axes) or given in the config
// (constants, broadcast as Keras broadcasts them). Registered with tfjs'
// serialization on import, so model.json files naming it load anywhere the
// service loads models (tf.ts and the inspector child import this module).
import * as tf from '@tensorflow/tfjs';

/** Keras' backend.epsilon(): the floor of the standard deviation. */
const EPSILON = 1e-7;

type Values = number | number[] | number[][] | null;

export interface NormalizationArgs {
  name?: string;
  trainable?: boolean;
  axis?: number | number[] | null;
  invert?: boolean;
  mean?: Values;
  variance?: Values;
}

export class Normalization extends tf.layers.Layer {
  static className = 'Normalization';
  private readonly axis: number[];
  private readonly invert: boolean;
  private readonly inputMean: Values;
  private readonly inputVariance: Values;
  private broadcastShape: number[] = [];
  private constants?: { mean: tf.Tensor; variance: tf.Tensor };
  private meanWeight?: tf.LayerVariable;
  private varianceWeight?: tf.LayerVariable;

  constructor(args: NormalizationArgs) {
    super(args);
    // Keras' default is the last axis; null normalizes with one mean over everything.
    this.axis = args.axis === undefined ? [-1] : args.axis === null ? [] : Array.isArray(args.axis) ? args.axis : [args.axis];
    this.invert = args.invert ?? false;
    this.inputMean = args.mean ?? null;
    this.inputVariance = args.variance ?? null;
    if ((this.inputMean === null) !== (this.inputVariance === null)) throw new Error('Normalization needs both mean and variance, or neither');
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const ndim = shape.length;
    const keep = [...new Set(this.axis.map((a) => (a < 0 ? a + ndim : a)))].sort((a, b) => a - b);
    for (const d of keep) if (d < 0 || d >= ndim || shape[d] === null) throw new Error(`Normalization: axis ${d} is out of range or of unknown size`);
    this.broadcastShape = shape.map((s, d) => (keep.includes(d) ? (s as number) : 1));
    const kept = keep.map((d) => shape[d] as number);
    if (this.inputMean === null) {
      this.meanWeight = this.addWeight('mean', kept, 'float32', tf.initializers.zeros(), undefined, false);
      this.varianceWeight = this.addWeight('variance', kept, 'float32', tf.initializers.ones(), undefined, false);
    } else {
      // As Keras: a scalar broadcasts; otherwise the values' dimensions align with the kept axes from the right.
      const expand = (v: Values): tf.Tensor => tf.tidy(() => {
        const t = tf.tensor(v as number[], undefined, 'float32');
        if (t.rank === 0) return tf.broadcastTo(t, this.broadcastShape);
        const expanded = new Array<number>(ndim).fill(1);
        for (let i = 1; i <= t.rank; i++) expanded[keep[keep.length - i]] = t.shape[t.rank - i];
        return tf.broadcastTo(t.reshape(expanded), this.broadcastShape);
      });
      this.constants = { mean: tf.keep(expand(this.inputMean)), variance: tf.keep(expand(this.inputVariance)) };
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const mean = this.constants?.mean ?? this.meanWeight!.read().reshape(this.broadcastShape);
      const variance = this.constants?.variance ?? this.varianceWeight!.read().reshape(this.broadcastShape);
      const std = tf.maximum(tf.sqrt(variance), EPSILON);
      return this.invert ? tf.add(mean, tf.mul(x, std)) : tf.div(tf.sub(x, mean), std);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, invert: this.invert, mean: this.inputMean, variance: this.inputVariance };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0 && this.constants) {
      tf.dispose([this.constants.mean, this.constants.variance]);
      this.constants = undefined;
    }
    return result;
  }
}

tf.serialization.registerClass(Normalization);
