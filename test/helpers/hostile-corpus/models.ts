// Hostile-input rows: model files, model graphs, and job specs that build absurd layers.
import assert from 'node:assert/strict';
import { CYCLE_MODEL_JSON, DANGLING_INPUT_MODEL_JSON, NODE_INDEX_MODEL_JSON, STRING_DIMENSION_MODEL_JSON } from '../hostile-models.ts';
import { type Case, type Corpus, type RowHelpers, beforeAllocation } from './rows.ts';

export function modelsRows(r: RowHelpers, c: Corpus): Case[] {
  const { job, pretrain, model, rawModel, fault, weightSpec, layer } = r;
  const { ids } = c;
  return [
    // ------------------------------------------------------------ model files: truncated, lying, unknown, absurd
    { name: 'a truncated weight shard', status: 422, code: 'model_invalid', send: () => model('truncated', (_j, w) => ({ weights: w.slice(0, w.byteLength - 4) })) },
    { name: 'a weight shard longer than its manifest', status: 413, code: 'object_too_large', send: () => model('long', (_j, w) => ({ weights: Buffer.concat([w, Buffer.alloc(4)]) })) },
    { name: 'a manifest that transposes a kernel (same bytes, wrong shape)', status: 422, code: 'model_invalid', send: () => model('transposed', (j) => void (weightSpec(j, 0).shape = [8, 4])) },
    { name: 'a manifest with a negative dimension', status: 422, code: 'model_invalid', send: () => model('negative', (j) => void (weightSpec(j, 1).shape = [-8])) },
    { name: 'a manifest with a fractional dimension', status: 422, code: 'model_invalid', send: () => model('fraction', (j) => void (weightSpec(j, 1).shape = [8.5])) },
    { name: 'a manifest with a billion-long dimension', status: 422, code: 'model_invalid', send: () => model('billion', (j) => void (weightSpec(j, 1).shape = [1e9])) },
    { name: 'a manifest whose sizes multiply past any limit', status: 422, code: 'model_too_large', send: () => model('overflow', (j) => void (weightSpec(j, 0).shape = [1e8, 1e8, 1e8])) },
    { name: 'an unknown dtype', status: 422, code: 'model_invalid', send: () => model('dtype', (j) => void (weightSpec(j, 1).dtype = 'complex64')) },
    { name: 'a shard path with ../', status: 422, code: 'model_invalid', send: () => model('shard-traversal', (j) => void (j.weightsManifest[0].paths = ['../../datasets/x/data.csv'])) },
    { name: 'a shard path at the metadata service', status: 422, code: 'model_invalid', send: () => model('shard-url', (j) => void (j.weightsManifest[0].paths = ['http://169.254.169.254/latest/meta-data'])) },
    { name: 'an absolute shard path', status: 422, code: 'model_invalid', send: () => model('shard-abs', (j) => void (j.weightsManifest[0].paths = ['/etc/passwd'])) },
    { name: 'a Lambda layer', status: 422, code: 'model_invalid', send: () => model('lambda', (j) => void (layer(j, 1).class_name = 'Lambda')) },
    { name: 'a custom layer class', status: 422, code: 'model_invalid', send: () => model('custom', (j) => void (layer(j, 1).class_name = 'MyEvalLayer')) },
    { name: 'a nested model as a layer', status: 422, code: 'model_invalid', send: () => model('nested', (j) => void (layer(j, 1).class_name = 'Sequential')) },
    { name: 'a 1e9-unit dense layer, declared', status: 422, code: 'model_invalid', send: () => model('dense-1e9', (j) => { layer(j, 1).config.units = 1e9; weightSpec(j, 2).shape = [8, 1e9]; weightSpec(j, 3).shape = [1e9]; }) },
    { name: 'a 1e8-unit dense layer the manifest hides', status: 422, code: 'model_invalid', send: () => model('dense-1e8-hidden', (j) => void (layer(j, 1).config.units = 1e8)), check: beforeAllocation },
    { name: 'a 1e9-unit dense layer the manifest hides (past any dimension)', status: 422, code: 'model_invalid', send: () => model('dense-1e9-hidden', (j) => void (layer(j, 1).config.units = 1e9)), check: (d) => assert.equal(d.fault, 'bad_dimension') },
    { name: 'a 1e5-unit dense layer the manifest hides', status: 422, code: 'model_invalid', send: () => model('dense-1e5-hidden', (j) => void (layer(j, 0).config.units = 100_000)), check: beforeAllocation },
    { name: 'two 20000-unit dense layers the manifest hides (a 1.6 GB kernel)', status: 422, code: 'model_invalid', send: () => model('dense-wide-hidden', (j) => { layer(j, 0).config.units = 20_000; layer(j, 1).config.units = 20_000; }), check: beforeAllocation },
    // ------------------------------------------------------------ model graphs tfjs cannot build (issue 12: one froze the whole service)
    { name: "issue 12's reproducer: an input naming a layer that does not exist", status: 422, code: 'model_invalid', send: () => rawModel('graph-dangling', DANGLING_INPUT_MODEL_JSON), check: fault('unknown_layer', 'd') },
    { name: 'two layers feeding each other', status: 422, code: 'model_invalid', send: () => rawModel('graph-cycle', CYCLE_MODEL_JSON), check: (d) => assert.equal(d.fault, 'cycle') },
    { name: "a node reading a call of a layer that never happens", status: 422, code: 'model_invalid', send: () => rawModel('graph-node-index', NODE_INDEX_MODEL_JSON), check: fault('node_index_out_of_range', 'b') },
    { name: 'a string dimension before Flatten and Dense (issue 12: a stored row that broke the model routes)', status: 422, code: 'model_invalid', send: () => rawModel('graph-string-dim', STRING_DIMENSION_MODEL_JSON), check: fault('bad_dimension', 'flat') },
    { name: 'a camelCase config key that tfjs would read past the checks', status: 422, code: 'model_invalid', send: () => model('camel-key', (j) => void (layer(j, 0).config.kernelInitializer = { class_name: 'Zeros', config: {} })), check: fault('bad_key', 'hidden') },
    { name: 'a model.json nested 10000 deep', status: 422, code: 'model_invalid', send: () => model('deep-json', (j) => ({ raw: JSON.stringify(j).replace(/}$/, `,"padding":${'['.repeat(10_000)}${']'.repeat(10_000)}}`) })), check: (d) => assert.equal(d.fault, 'too_deep') },
    { name: 'model.json that is not JSON', status: 422, code: 'model_invalid', send: () => model('not-json', () => ({ raw: '{"modelTopology": ' })) },
    { name: 'a graph model', status: 422, code: 'model_invalid', send: () => model('graph', () => ({ raw: JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }) })) },
    { name: 'a model with no weight files', status: 404, code: 'object_not_found', send: () => model('no-shard', (j) => void (j.weightsManifest[0].paths = ['missing.bin'])) },
    { name: 'a model.json of 17 MiB', status: 413, code: 'object_too_large', send: () => model('huge-json', (j) => ({ raw: JSON.stringify({ ...j, padding: 'x'.repeat(17 * 2 ** 20) }) })) },

    // ------------------------------------------------------------ job specs that build absurd layers
    { name: 'a 1e9-unit dense layer in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 1e9 }, { type: 'dense', units: 5 }] }) },
    { name: 'a 0-unit dense layer', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 0 }, { type: 'dense', units: 5 }] }) },
    { name: 'a lambda layer in a head', status: 400, code: 'validation_failed', send: () => job({ baseModelId: ids.model, trainDatasetId: ids.table, head: [{ type: 'lambda', function: 'process.exit()' }] }) },
    { name: 'a custom layer class in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [{ type: 'MyLayer' }, { type: 'dense', units: 5 }] }) },
    { name: '65 layers in an architecture', status: 400, code: 'validation_failed', send: () => pretrain({ architecture: [...Array.from({ length: 64 }, () => ({ type: 'dropout', rate: 0.1 })), { type: 'dense', units: 5 }] }) },
    { name: 'two wide dense layers past MAX_MODEL_PARAMS', status: 422, code: 'model_too_large', send: () => pretrain({ architecture: [{ type: 'flatten' }, { type: 'dense', units: 65_536 }, { type: 'dense', units: 65_536 }, { type: 'dense', units: 5 }] }) },
    { name: 'a 31×31 kernel on a 28×28 image', status: 422, code: 'layer_not_buildable', send: () => pretrain({ architecture: [{ type: 'conv2d', filters: 4, kernelSize: 31 }, { type: 'flatten' }, { type: 'dense', units: 5 }] }) },
  ];
}
