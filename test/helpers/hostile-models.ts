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
