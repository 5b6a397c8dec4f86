// Keras' MobileNetV3Small (keras.applications, include_top=False, with its
// built-in Rescaling to [-1, 1]) as a topology with the names of Keras' config.
// Keras writes hard_sigmoid as the ops x + 3.0 → ReLU(6) → x * (1/6); the op
// nodes (`add`, `multiply`, …) become Rescaling layers of the same names here,
// computing the same; hard_swish is the activation keras-ops.ts registers.
import { correctPad, makeDivisible } from './mobilenet-v2.ts';
import type { Node, TopologyBuilder } from './topology.ts';

const EPS = 1e-3;
const MOMENTUM = 0.999;
type Act = (b: TopologyBuilder, x: Node) => Node;

const relu: Act = (b, x) => b.relu(x, b.autoName('re_lu'));
const hardSwish: Act = (b, x) => b.activation(x, b.autoName('activation'), 'hard_swish');
const hardSigmoid: Act = (b, x) => {
  const shifted = b.rescaling(x, b.autoName('add'), 1, 3);
  return b.rescaling(b.relu(shifted, b.autoName('re_lu'), 6), b.autoName('multiply'), 1 / 6, 0);
};

function seBlock(b: TopologyBuilder, inputs: Node, filters: number, prefix: string): Node {
  let x = b.globalAveragePool(inputs, `${prefix}squeeze_excite_avg_pool`, true);
  x = b.conv2d(x, `${prefix}squeeze_excite_conv`, { filters: makeDivisible(filters * 0.25), kernel: 1, padding: 'same' });
  x = b.relu(x, `${prefix}squeeze_excite_relu`);
  x = b.conv2d(x, `${prefix}squeeze_excite_conv_1`, { filters, kernel: 1, padding: 'same' });
  return b.multiply(inputs, hardSigmoid(b, x), `${prefix}squeeze_excite_mul`);
}

interface Block { expansion: number; filters: number; kernel: number; stride: number; se: boolean; act: Act; id: number }

function invertedResBlock(b: TopologyBuilder, shortcut: Node, o: Block): Node {
  const inFilters = shortcut.shape[2];
  let x = shortcut;
  let prefix = 'expanded_conv_';
  if (o.id) {
    prefix = `expanded_conv_${o.id}_`;
    x = b.conv2d(x, `${prefix}expand`, { filters: makeDivisible(inFilters * o.expansion), kernel: 1, padding: 'same', useBias: false });
    x = o.act(b, b.batchNorm(x, `${prefix}expand_bn`, EPS, MOMENTUM));
  }
  if (o.stride === 2) x = b.zeroPad(x, `${prefix}depthwise_pad`, correctPad(x.shape, o.kernel));
  x = b.depthwise(x, `${prefix}depthwise`, { kernel: o.kernel, strides: o.stride, padding: o.stride === 1 ? 'same' : 'valid' });
  x = o.act(b, b.batchNorm(x, `${prefix}depthwise_bn`, EPS, MOMENTUM));
  if (o.se) x = seBlock(b, x, makeDivisible(inFilters * o.expansion), prefix);
  x = b.conv2d(x, `${prefix}project`, { filters: o.filters, kernel: 1, padding: 'same', useBias: false });
  x = b.batchNorm(x, `${prefix}project_bn`, EPS, MOMENTUM);
  return o.stride === 1 && inFilters === o.filters ? b.add(shortcut, x, `${prefix}add`) : x;
}

/** [expansion, filters, kernel, stride, squeeze-excite, hard_swish] of blocks 0–10, as Keras' stack_fn. */
const BLOCKS: Array<[number, number, number, number, boolean, boolean]> = [
  [1, 16, 3, 2, true, false], [72 / 16, 24, 3, 2, false, false], [88 / 24, 24, 3, 1, false, false],
  [4, 40, 5, 2, true, true], [6, 40, 5, 1, true, true], [6, 40, 5, 1, true, true], [3, 48, 5, 1, true, true],
  [3, 48, 5, 1, true, true], [6, 96, 5, 2, true, true], [6, 96, 5, 1, true, true], [6, 96, 5, 1, true, true],
];

/** The backbone up to the last hard_swish (Keras' include_top=False, pooling=None). */
export function mobileNetV3Small(b: TopologyBuilder, inputShape: number[], alpha: number): { input: Node; output: Node } {
  const input = b.input(b.autoName('input_layer'), inputShape);
  let x = b.rescaling(input, b.autoName('rescaling'), 1 / 127.5, -1);
  x = b.conv2d(x, 'conv', { filters: 16, kernel: 3, strides: 2, padding: 'same', useBias: false });
  x = hardSwish(b, b.batchNorm(x, 'conv_bn', EPS, MOMENTUM));
  BLOCKS.forEach(([expansion, filters, kernel, stride, se, swish], id) => {
    x = invertedResBlock(b, x, { expansion, filters: makeDivisible(filters * alpha), kernel, stride, se, act: swish ? hardSwish : relu, id });
  });
  x = b.conv2d(x, 'conv_1', { filters: makeDivisible(x.shape[2] * 6), kernel: 1, padding: 'same', useBias: false });
  x = hardSwish(b, b.batchNorm(x, 'conv_1_bn', EPS, MOMENTUM));
  return { input, output: x };
}
