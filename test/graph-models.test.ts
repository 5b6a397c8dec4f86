// TensorFlow.js Graph models (tfjs-converter's layout) are checked as data:
// every op must be one tfjs implements, every weight a Const node of the graph.
// Registration stores one that passes (a frozen base: graph-finetune.test.ts)
// and refuses the rest with a code that names the unknown op, storing nothing. The fixture
// (test/fixtures/graph, made by test/fixtures/keras/make/graph_model.py) is a
// real graph: tfjs' own loadGraphModel runs it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { checkGraphModel } from '../apps/shared/ml/graph-model-check.ts';
import { AppError } from '../apps/shared/errors.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';
import { quadraticGraph } from './helpers/hostile-graphs.ts';
import { checkGraphMemory, safeChunk } from '../apps/shared/ml/graph-memory.ts';
import { graphParts } from '../apps/worker/src/pipeline/graph-base.ts';

const DIR = new URL('./fixtures/graph/', import.meta.url);
const modelJson = () => JSON.parse(readFileSync(new URL('model.json', DIR), 'utf8'));
const shard = () => new Uint8Array(readFileSync(new URL('group1-shard1of1.bin', DIR)));
const refusedWith = (code: string, fault: string) => (e: unknown) => e instanceof AppError && e.code === code && (e.details as { fault?: string }).fault === fault;

describe('Graph model checks (no services)', () => {
  it('the fixture is a graph tfjs runs, and its ops are all ones tfjs implements', async () => {
    const json = modelJson();
    const { ops } = checkGraphModel(json);
    assert.deepEqual(ops, ['BiasAdd', 'Const', 'Conv2D', 'Identity', 'MatMul', 'Mean', 'NoOp', 'Placeholder', 'Relu', 'Softmax']);
    const bytes = shard();
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }));
    const out = model.predict(tf.ones([2, 8, 8, 1])) as tf.Tensor;
    assert.deepEqual(out.shape, [2, 3]);
    assert.ok(Math.abs(out.sum().dataSync()[0] - 2) < 1e-5, 'softmax rows sum to 1');
  });

  it('an op tfjs does not implement is named', () => {
    const json = modelJson();
    json.modelTopology.node.find((n: { op: string }) => n.op === 'Relu').op = 'PyFunc';
    assert.throws(() => checkGraphModel(json), (e: unknown) => refusedWith('model_unsupported', 'graph_op')(e) && (e as AppError).message.includes('PyFunc'));
  });

  it('a weight that is not a Const node of the graph, or has a bad shape, is refused', () => {
    const json = modelJson();
    json.weightsManifest[0].weights[0].name = 'nowhere';
    assert.throws(() => checkGraphModel(json), refusedWith('model_invalid', 'graph'));
    const neg = modelJson();
    neg.weightsManifest[0].weights[0].shape = [-1, 3];
    assert.throws(() => checkGraphModel(neg), refusedWith('model_invalid', 'graph'));
  });
});

const loadFixture = () => {
  const json = modelJson();
  const bytes = shard();
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }));
};

describe('Graph model memory (no services)', () => {
  it('a graph whose memory grows faster than its batch is refused, naming its peaks; the fixture passes', async () => {
    const { modelJson: json, shard: bin } = quadraticGraph();
    const quad = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: (json as any).modelTopology, weightSpecs: (json as any).weightsManifest[0].weights, weightData: bin.buffer as ArrayBuffer }));
    await assert.rejects(checkGraphMemory(tf, quad, [4], ['big', 'Identity'], 2 ** 30), (e: unknown) => refusedWith('model_unsupported', 'graph_superlinear')(e) && /peak bytes at batch 1, 2, 4/.test((e as AppError).message));
    const fixture = await loadFixture();
    await checkGraphMemory(tf, fixture, [8, 8, 1], ['features', fixture.outputs[0].name.replace(/:0$/, '')], 2 ** 30);
    // A linear graph whose one example passes the budget is refused too.
    await assert.rejects(checkGraphMemory(tf, fixture, [8, 8, 1], ['features'], 16), refusedWith('model_unsupported', 'graph_memory'));
  });

  it('the worker runs a batch larger than its safe chunk in pieces, with the same features', async () => {
    const graph = await loadFixture();
    const perExample = 8 * 8 * 8 * 4;
    const chunk = await safeChunk(tf, graph, [8, 8, 1], 'features', 3 * perExample);
    assert.ok(chunk >= 1 && chunk < 3, `chunk ${chunk} keeps under a budget of three examples`);
    const rows: number[] = [];
    const execute = graph.execute.bind(graph);
    graph.execute = ((x: tf.Tensor, node: string) => (rows.push(x.shape[0]), execute(x, node))) as typeof graph.execute;
    const x = tf.randomUniform([7, 8, 8, 1], 0, 1, 'float32', 3);
    const whole = execute(x, 'features') as tf.Tensor;
    const nodes = [{ name: 'features', className: 'Relu', trainable: false, params: 0, outputShape: [null, ...whole.shape.slice(1)] }];
    const parts = graphParts(graph, { node: 'features', nodes, inputShape: [null, 8, 8, 1], head: [{ type: 'dense', units: 3, activation: 'softmax' }], numClasses: 3, chunk });
    const split = parts.base!.predict(x) as tf.Tensor;
    assert.ok(rows.length >= 4 && rows.every((r) => r <= chunk), `runs of ${rows.join(', ')} rows`);
    assert.ok(tf.max(tf.abs(tf.sub(split, whole))).dataSync()[0] < 1e-6);
  });
});

describe('Graph models through POST /v1/models', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h?.close());

  const upload = async (dir: string, json: unknown, bin: Uint8Array) => {
    await h.storage.put(`${h.uploads}${dir}/model.json`, new TextEncoder().encode(JSON.stringify(json)));
    await h.storage.put(`${h.uploads}${dir}/group1-shard1of1.bin`, bin);
    return `s3://${h.storage.bucket}/${h.uploads}${dir}/model.json`;
  };

  it('stores a graph tfjs implements; refuses one naming an unknown op, or with short shards, and stores nothing for them', async () => {
    const ok = await http(h.app).post('/v1/models').send({ name: 'graph', uri: await upload('graph', modelJson(), shard()) });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.format, 'graph-model');
    const before = (await h.storage.list('models/')).length;
    const hostile = modelJson();
    hostile.modelTopology.node.find((n: { op: string }) => n.op === 'MatMul').op = 'ReadFile';
    const bad = await http(h.app).post('/v1/models').send({ name: 'graph', uri: await upload('hostile', hostile, shard()) });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.code, 'model_unsupported');
    assert.equal(bad.body.error.details.op, 'ReadFile');
    const short = await http(h.app).post('/v1/models').send({ name: 'graph', uri: await upload('short', modelJson(), shard().slice(0, 100)) });
    assert.equal(short.status, 422);
    const dynamic = modelJson();
    // A While loop is an op tfjs has, but not one a layer's synchronous call() can run.
    dynamic.modelTopology.node.find((n: { op: string }) => n.op === 'Relu').op = 'LoopCond';
    const loop = await http(h.app).post('/v1/models').send({ name: 'graph', uri: await upload('loop', dynamic, shard()) });
    assert.equal(loop.status, 422, JSON.stringify(loop.body));
    assert.equal(loop.body.error.code, 'model_unsupported');
    assert.equal(loop.body.error.details.fault, 'graph_dynamic');
    assert.equal((await http(h.app).get('/v1/models')).body.data.length, 1);
    assert.equal((await h.storage.list('models/')).length, before);
  });

  it('format graph-model registers a graph; format layers-model for a graph (or graph-model for a LayersModel) is refused, not registered as the other kind', async () => {
    const uri = await upload('stated', modelJson(), shard());
    const ok = await http(h.app).post('/v1/models').send({ name: 'graph', uri, format: 'graph-model' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.format, 'graph-model');
    const count = (await http(h.app).get('/v1/models')).body.data.length;
    const wrong = await http(h.app).post('/v1/models').send({ name: 'graph', uri, format: 'layers-model' });
    assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
    assert.equal(wrong.body.error.code, 'model_invalid');
    assert.deepEqual([wrong.body.error.details.fault, wrong.body.error.details.found], ['format_mismatch', 'graph-model']);
    const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    let saved: tf.io.ModelArtifacts | undefined;
    await dense.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const layersJson = { modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: saved!.weightSpecs }] };
    const other = await http(h.app).post('/v1/models').send({ name: 'l', uri: await upload('layers', layersJson, new Uint8Array(saved!.weightData as ArrayBuffer)), format: 'graph-model' });
    assert.equal(other.status, 422, JSON.stringify(other.body));
    assert.equal(other.body.error.details.fault, 'format_mismatch');
    assert.equal((await http(h.app).get('/v1/models')).body.data.length, count);
  });

  it('refuses a graph whose memory grows with the square of its batch (fine at batch 2 and 3)', async () => {
    const { modelJson: json, shard: bin } = quadraticGraph();
    const res = await http(h.app).post('/v1/models').send({ name: 'quad', uri: await upload('quad', json, bin) });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'model_unsupported');
    assert.equal(res.body.error.details.fault, 'graph_superlinear');
    const peaks = res.body.error.details.peakBytes;
    assert.ok(peaks['4'] - peaks['2'] > 3 * (peaks['2'] - peaks['1']), JSON.stringify(peaks));
  });
});

describe('a Graph model under MAX_MODEL_LAYERS', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ env: { MAX_MODEL_LAYERS: '3' } });
  });
  after(() => h?.close());

  it('records at most MAX_MODEL_LAYERS node rows, those nearest the output (the output last)', async () => {
    await h.storage.put(`${h.uploads}capped/model.json`, new TextEncoder().encode(JSON.stringify(modelJson())));
    await h.storage.put(`${h.uploads}capped/group1-shard1of1.bin`, shard());
    const res = await http(h.app).post('/v1/models').send({ name: 'capped', uri: `s3://${h.storage.bucket}/${h.uploads}capped/model.json` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.layers.map((l: { name: string }) => l.name), ['MatMul', 'probabilities', 'Identity']);
  });
});
