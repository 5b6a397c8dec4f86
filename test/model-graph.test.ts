// The topology is checked as a graph, as data, before tfjs sees it: honest
// Sequential and functional models (shared layers, a layer called on its own
// output, the model_config wrapper) pass and still load in tfjs; every graph
// that would make tfjs spin, and every dimension that is not an integer or
// null, is refused naming the layer and the fault. No services needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { io } from '@tensorflow/tfjs';
import { tf } from '../apps/shared/ml/tf.ts';
import { checkModelGraph } from '../apps/shared/ml/model-graph.ts';
import { AppError } from '../apps/shared/errors.ts';
import { DANGLING_INPUT } from './helpers/hostile-models.ts';

type Topology = Record<string, any>;

async function topologyOf(model: tf.LayersModel): Promise<{ topology: Topology; artifacts: io.ModelArtifacts }> {
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  return { topology: artifacts!.modelTopology as Topology, artifacts: artifacts! };
}

const honest: Record<string, () => tf.LayersModel> = {
  sequential: () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 8, name: 'hidden' }), tf.layers.dense({ units: 3, name: 'out' })] }),
  'functional with a shared layer called twice, side by side': () => {
    const input = tf.input({ shape: [6], name: 'x' });
    const shared = tf.layers.dense({ units: 6, name: 'shared' });
    const a = shared.apply(input) as tf.SymbolicTensor;
    const b = shared.apply(tf.layers.dense({ units: 6, name: 'pre' }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'out' }).apply(tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  },
  'functional with a layer called on its own output, A(A(x))': () => {
    const input = tf.input({ shape: [5], name: 'x' });
    const again = tf.layers.dense({ units: 5, name: 'again' });
    const out = again.apply(again.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.add({ name: 'sum' }).apply([out, input]) as tf.SymbolicTensor });
  },
  'functional with two inputs': () => {
    const x = tf.input({ shape: [3], name: 'x' });
    const y = tf.input({ shape: [3], name: 'y' });
    return tf.model({ inputs: [x, y], outputs: tf.layers.dense({ units: 2, name: 'out' }).apply(tf.layers.multiply({ name: 'mul' }).apply([x, y]) as tf.SymbolicTensor) as tf.SymbolicTensor });
  },
};

const functional = (layers: Topology[], outputs = [[layers[layers.length - 1].name, 0, 0]], inputs = [['input', 0, 0]]): Topology => ({
  class_name: 'Model',
  config: { name: 'm', layers, input_layers: inputs, output_layers: outputs },
});
const input = (name = 'input', shape: unknown[] = [null, 4]) => ({ name, class_name: 'InputLayer', config: { batch_input_shape: shape, dtype: 'float32', name }, inbound_nodes: [] });
const dense = (name: string, inbound: unknown[][][], extra: Record<string, unknown> = {}) => ({ name, class_name: 'Dense', config: { units: 4, name, ...extra }, inbound_nodes: inbound });

const hostile: Record<string, { topology: Topology; layer?: string; fault: string }> = {
  "the issue's reproducer: an input naming a layer that does not exist": { topology: DANGLING_INPUT, layer: 'd', fault: 'unknown_layer' },
  'two layers feeding each other': { topology: functional([input(), dense('a', [[['b', 0, 0, {}]]]), dense('b', [[['a', 0, 0, {}]]])]), fault: 'cycle' },
  'a layer feeding itself': { topology: functional([input(), dense('a', [[['a', 0, 0, {}]]])]), layer: 'a', fault: 'cycle' },
  "a node index past the layer's calls": { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]]), dense('b', [[['a', 1, 0, {}]]])]), layer: 'b', fault: 'node_index_out_of_range' },
  'a node waiting on a later node of the layer that waits on it': {
    topology: functional([input(), dense('a', [[['b', 0, 0, {}]], [['input', 0, 0, {}]]]), dense('b', [[['a', 1, 0, {}]]])]),
    fault: 'cycle',
  },
  'a tensor index past the outputs': { topology: functional([input(), dense('a', [[['input', 0, 3, {}]]])]), layer: 'a', fault: 'tensor_index_out_of_range' },
  'an output naming a missing layer': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]])], [['ghost', 0, 0]]), fault: 'unknown_layer' },
  'an output at a node that will never exist': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]])], [['a', 5, 0]]), fault: 'node_index_out_of_range' },
  'a Dense listed as an input': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]])], [['a', 0, 0]], [['a', 0, 0]]), layer: 'a', fault: 'not_an_input_layer' },
  'an output fed by an undeclared input': {
    topology: functional([input(), input('other'), dense('a', [[['other', 0, 0, {}]]])], [['a', 0, 0]], [['input', 0, 0]]),
    layer: 'input',
    fault: 'unreachable',
  },
  'an input layer that feeds an output but is not declared': {
    topology: functional([input(), input('other'), { name: 'sum', class_name: 'Add', config: { name: 'sum' }, inbound_nodes: [[['input', 0, 0, {}], ['other', 0, 0, {}]]] }], [['sum', 0, 0]], [['input', 0, 0]]),
    layer: 'other',
    fault: 'undeclared_input',
  },
  'a layer that leads nowhere': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]]), dense('stray', [[['input', 0, 0, {}]]])], [['a', 0, 0]]), layer: 'stray', fault: 'unreachable' },
  'a layer that is never called': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]]), dense('idle', [])], [['a', 0, 0]]), layer: 'idle', fault: 'unreachable' },
  'a node with no inputs': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]], []])]), layer: 'a', fault: 'malformed' },
  'two layers with one name': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]]), dense('a', [[['a', 0, 0, {}]]])]), layer: 'a', fault: 'duplicate_name' },
  "an entry's name that differs from its config's": { topology: functional([input(), { ...dense('a', [[['input', 0, 0, {}]]]), config: { units: 4, name: 'b' } }]), layer: 'a', fault: 'malformed' },
  'a string dimension in batch_input_shape (issue 12, hole 3)': { topology: functional([input('input', [null, '4', 1]), dense('a', [[['input', 0, 0, {}]]])]), layer: 'input', fault: 'bad_dimension' },
  'a fractional dimension': { topology: functional([input('input', [null, 4.5]), dense('a', [[['input', 0, 0, {}]]])]), layer: 'input', fault: 'bad_dimension' },
  'units as a string': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]], { units: '4' })]), layer: 'a', fault: 'bad_dimension' },
  'a camelCase key that tfjs would read past the checks': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]], { kernelSize: 1e6 })]), layer: 'a', fault: 'bad_key' },
  'a Sequential with a string dimension': {
    topology: { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, '4'] } }] } },
    layer: 'd',
    fault: 'bad_dimension',
  },
  'a Sequential with a negative kernel size': {
    topology: { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [-3, 3], batch_input_shape: [null, 8, 8, 1] } }] } },
    layer: 'c',
    fault: 'bad_dimension',
  },
  'a topology that is a single layer': { topology: { class_name: 'Dense', config: { units: 2 } }, fault: 'malformed' },
  'a config nested 100 deep': { topology: functional([input(), dense('a', [[['input', 0, 0, {}]]], { kernel_initializer: JSON.parse('{"config":'.repeat(100) + '{}' + '}'.repeat(100)) })]), fault: 'too_deep' },
};

describe('model graph checks', () => {
  for (const [name, build] of Object.entries(honest)) {
    it(`an honest ${name} passes, bare and wrapped in model_config, and tfjs builds it`, async () => {
      const { topology, artifacts } = await topologyOf(build());
      checkModelGraph(topology);
      checkModelGraph({ model_config: topology, training_config: { loss: 'categorical_crossentropy' } });
      const rebuilt = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      assert.ok(rebuilt.layers.length > 1);
      rebuilt.dispose();
    });
  }

  for (const [name, c] of Object.entries(hostile)) {
    it(`refuses ${name}: 422 model_invalid, fault ${c.fault}`, () => {
      for (const topology of [c.topology, { model_config: c.topology }]) {
        assert.throws(() => checkModelGraph(topology), (err: unknown) => {
          assert.ok(err instanceof AppError, String(err));
          assert.equal(err.statusCode, 422);
          assert.equal(err.code, 'model_invalid');
          const details = err.details as { fault: string; layer?: string };
          assert.equal(details.fault, c.fault, err.message);
          if (c.layer) {
            assert.equal(details.layer, c.layer, err.message);
            assert.ok(err.message.includes(JSON.stringify(c.layer)), err.message);
          }
          return true;
        });
      }
    });
  }
});
