// Two things Keras 3 computes that stock TensorFlow.js cannot express, added
// with Keras' own names so imported, preset and exported models mean the same
// in both: the `hard_swish` (alias `hard_silu`) activation, x * relu6(x + 3) / 6
// (tfjs has none), and `keepdims` on GlobalAveragePooling2D (MobileNetV3's
// squeeze-and-excite). The pooling class replaces tfjs' registration with a
// subclass that is identical unless keepdims is true. Imported by tf.ts and the
// inspector child, like the Normalization layer.
import * as tf from '@tensorflow/tfjs';

export class HardSwish extends tf.serialization.Serializable {
  // tfjs camel-cases model.json's 'hard_swish' before it looks the class up.
  static className = 'hardSwish';
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
  }
  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}
tf.serialization.registerClass(HardSwish);

type Shape = Array<number | null>;
type PoolingArgs = Parameters<typeof tf.layers.globalAveragePooling2d>[0] & { keepdims?: boolean };
const StockPooling = tf.layers.globalAveragePooling2d({}).constructor as new (args: PoolingArgs) => tf.layers.Layer;

export class GlobalAveragePooling2D extends StockPooling {
  static className = 'GlobalAveragePooling2D';
  private readonly keepdims: boolean;

  constructor(args: PoolingArgs) {
    super(args);
    this.keepdims = args.keepdims === true;
  }

  private get channelsLast(): boolean {
    return (this as unknown as { dataFormat: string }).dataFormat !== 'channelsFirst';
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    if (!this.keepdims) return super.computeOutputShape(inputShape);
    const s = inputShape as Shape;
    return this.channelsLast ? [s[0], 1, 1, s[3]] : [s[0], s[1], 1, 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    if (!this.keepdims) return super.call(inputs, kwargs);
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => tf.mean(x, this.channelsLast ? [1, 2] : [2, 3], true));
  }

  override getConfig(): tf.serialization.ConfigDict {
    // Written only when set, so every other model's model.json stays as tfjs writes it.
    return this.keepdims ? { ...super.getConfig(), keepdims: true } : super.getConfig();
  }
}
tf.serialization.registerClass(GlobalAveragePooling2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
