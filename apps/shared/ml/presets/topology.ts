// Builds a TensorFlow.js Functional topology (model.json's modelTopology) as
// plain data, with each layer's output shape and weight shapes alongside: the
// API checks a preset's size and shapes from this without loading tfjs, and
// the worker hands the same topology to tf.models.modelFromJSON.
type Cfg = Record<string, unknown>;

/** A tensor in the graph: the layer that made it and its shape without the batch dimension. */
export interface Node {
  layer: string;
  shape: number[];
}

export interface WeightShape {
  name: string;
  shape: number[];
}

export interface BuiltTopology {
  modelTopology: Cfg;
  weights: WeightShape[];
  params: number;
  layers: number;
  outputShape: Array<number | null>;
}

const spatial = (size: number, kernel: number, stride: number, padding: 'same' | 'valid') =>
  padding === 'same' ? Math.ceil(size / stride) : Math.floor((size - kernel) / stride) + 1;

export class TopologyBuilder {
  private readonly list: Cfg[] = [];
  private readonly weightShapes: WeightShape[] = [];
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();

  /** Keras' automatic layer names: global_average_pooling2d, then global_average_pooling2d_1, … */
  autoName(base: string): string {
    const n = this.counters.get(base);
    this.counters.set(base, (n ?? -1) + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  }

  layer(className: string, name: string, config: Cfg, inputs: Node[], shape: number[], weights: Array<[string, number[]]> = []): Node {
    if (this.names.has(name)) throw new Error(`preset layer ${name} is defined twice`);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new RangeError(`the input is too small for layer ${name} (its output would be [${shape}])`);
    this.names.add(name);
    const inbound = inputs.length === 0 ? [] : [inputs.map((i) => [i.layer, 0, 0, {}])];
    this.list.push({ class_name: className, name, config: { name, trainable: true, dtype: 'float32', ...config }, inbound_nodes: inbound });
    for (const [w, s] of weights) this.weightShapes.push({ name: `${name}/${w}`, shape: s });
    return { layer: name, shape };
  }

  input(name: string, shape: number[]): Node {
    return this.layer('InputLayer', name, { batch_input_shape: [null, ...shape], sparse: false }, [], shape);
  }

  conv2d(x: Node, name: string, o: { filters: number; kernel: number; strides?: number; padding?: 'same' | 'valid'; useBias?: boolean; activation?: string }): Node {
    const [h, w, c] = x.shape;
    const { kernel: k, strides: s = 1, padding = 'valid', useBias = true } = o;
    const config = { filters: o.filters, kernel_size: [k, k], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [1, 1], use_bias: useBias, activation: o.activation ?? 'linear' };
    const weights: Array<[string, number[]]> = [['kernel', [k, k, c, o.filters]], ...(useBias ? [['bias', [o.filters]] as [string, number[]]] : [])];
    return this.layer('Conv2D', name, config, [x], [spatial(h, k, s, padding), spatial(w, k, s, padding), o.filters], weights);
  }

  depthwise(x: Node, name: string, o: { kernel: number; strides: number; padding: 'same' | 'valid' }): Node {
    const [h, w, c] = x.shape;
    const { kernel: k, strides: s, padding } = o;
    const config = { kernel_size: [k, k], strides: [s, s], padding, data_format: 'channels_last', dilation_rate: [1, 1], use_bias: false, depth_multiplier: 1, activation: 'linear' };
    return this.layer('DepthwiseConv2D', name, config, [x], [spatial(h, k, s, padding), spatial(w, k, s, padding), c], [['depthwise_kernel', [k, k, c, 1]]]);
  }

  batchNorm(x: Node, name: string, epsilon: number, momentum: number): Node {
    const c = x.shape[x.shape.length - 1];
    const weights = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => [w, [c]] as [string, number[]]);
    return this.layer('BatchNormalization', name, { axis: -1, momentum, epsilon, center: true, scale: true }, [x], x.shape, weights);
  }

  relu(x: Node, name: string, maxValue?: number): Node {
    return this.layer('ReLU', name, maxValue === undefined ? {} : { max_value: maxValue }, [x], x.shape);
  }

  zeroPad(x: Node, name: string, pad: [[number, number], [number, number]]): Node {
    const [h, w, c] = x.shape;
    return this.layer('ZeroPadding2D', name, { padding: pad, data_format: 'channels_last' }, [x], [h + pad[0][0] + pad[0][1], w + pad[1][0] + pad[1][1], c]);
  }

  activation(x: Node, name: string, activation: string): Node {
    return this.layer('Activation', name, { activation }, [x], x.shape);
  }

  /** x * scale + offset: also how a preset writes Keras' constant ops (x + 3.0, x * (1 / 6)). */
  rescaling(x: Node, name: string, scale: number, offset: number): Node {
    return this.layer('Rescaling', name, { scale, offset }, [x], x.shape);
  }

  multiply(a: Node, b: Node, name: string): Node {
    return this.layer('Multiply', name, {}, [a, b], a.shape);
  }

  add(a: Node, b: Node, name: string): Node {
    return this.layer('Add', name, {}, [a, b], a.shape);
  }

  globalAveragePool(x: Node, name: string, keepdims = false): Node {
    const c = x.shape[x.shape.length - 1];
    return this.layer('GlobalAveragePooling2D', name, { data_format: 'channels_last', ...(keepdims ? { keepdims } : {}) }, [x], keepdims ? [1, 1, c] : [c]);
  }

  dense(x: Node, name: string, units: number, activation: string): Node {
    return this.layer('Dense', name, { units, activation, use_bias: true }, [x], [units], [['kernel', [x.shape[0], units]], ['bias', [units]]]);
  }

  build(name: string, input: Node, output: Node): BuiltTopology {
    const config = { name, layers: this.list, input_layers: [[input.layer, 0, 0]], output_layers: [[output.layer, 0, 0]] };
    const params = this.weightShapes.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    return {
      modelTopology: { class_name: 'Model', config, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weights: this.weightShapes,
      params,
      layers: this.list.length,
      outputShape: [null, ...output.shape],
    };
  }
}
