// Model topologies that tfjs must never be handed as they are.

/** The reproducer from issue 12: a Dense whose input names a layer that does not exist; tfjs spins on it forever. */
export const DANGLING_INPUT: Record<string, any> = {
  class_name: 'Model',
  config: {
    name: 'm',
    layers: [
      { name: 'input', class_name: 'InputLayer', config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'input' }, inbound_nodes: [] },
      { name: 'd', class_name: 'Dense', config: { units: 2, activation: 'softmax', name: 'd' }, inbound_nodes: [[['nope', 0, 0, {}]]] },
    ],
    input_layers: [['input', 0, 0]],
    output_layers: [['d', 0, 0]],
  },
};

/** Its model.json, with the manifest of its 4×2 Dense (40 bytes of weights). */
export const DANGLING_INPUT_MODEL_JSON = {
  format: 'layers-model',
  modelTopology: DANGLING_INPUT,
  weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'd/kernel', shape: [4, 2], dtype: 'float32' }, { name: 'd/bias', shape: [2], dtype: 'float32' }] }],
};

const dense = (name: string, inbound: unknown[][][]) => ({ name, class_name: 'Dense', config: { units: 4, name }, inbound_nodes: inbound });
const input = { name: 'input', class_name: 'InputLayer', config: { batch_input_shape: [null, 4], dtype: 'float32', name: 'input' }, inbound_nodes: [] };

/** A functional model.json of `layers` (after an InputLayer named "input"), 4-unit Dense weights declared for each. */
export function functionalModelJson(layers: Array<Record<string, unknown>>, output: string) {
  return {
    format: 'layers-model',
    modelTopology: { class_name: 'Model', config: { name: 'm', layers: [input, ...layers], input_layers: [['input', 0, 0]], output_layers: [[output, 0, 0]] } },
    weightsManifest: [{ paths: ['weights.bin'], weights: layers.flatMap((l) => [{ name: `${l.name}/kernel`, shape: [4, 4], dtype: 'float32' }, { name: `${l.name}/bias`, shape: [4], dtype: 'float32' }]) }],
  };
}

/** Two Dense layers that feed each other: tfjs spins on it forever. */
export const CYCLE_MODEL_JSON = functionalModelJson([dense('a', [[['b', 0, 0, {}]]]), dense('b', [[['a', 0, 0, {}]]])], 'b');

/** A node that reads node 1 of a layer called once: tfjs waits for it forever. */
export const NODE_INDEX_MODEL_JSON = functionalModelJson([dense('a', [[['input', 0, 0, {}]]]), dense('b', [[['a', 1, 0, {}]]])], 'b');

/** Issue 12, hole 3: a string dimension before Flatten and Dense; tfjs builds it and the summary is poisoned. */
export const STRING_DIMENSION_MODEL_JSON = {
  format: 'layers-model',
  modelTopology: {
    class_name: 'Sequential',
    config: {
      name: 's',
      layers: [
        { class_name: 'Flatten', config: { name: 'flat', batch_input_shape: [null, '4', 1] } },
        { class_name: 'Dense', config: { name: 'out', units: 3, activation: 'softmax' } },
      ],
    },
  },
  weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'out/kernel', shape: [4, 3], dtype: 'float32' }, { name: 'out/bias', shape: [3], dtype: 'float32' }] }],
};
