// A job on a Graph model base resumes from its checkpoints: only the head has
// weights, so checkpoints hold the head (savedModel), written to and read back
// from S3 as the train stage and the resume stage do. Paused mid-epoch and
// resumed in fresh parts, training ends with the uninterrupted run's weights.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { graphSummary } from '../apps/shared/ml/graph-summary.ts';
import { graphParts } from '../apps/worker/src/pipeline/graph-base.ts';
import { disposeParts, savedModel, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { tensorSplit } from '../apps/worker/src/pipeline/splits.ts';
import { train, type EpochResult, type TrainPoint } from '../apps/worker/src/pipeline/train.ts';
import { loadCheckpoint, saveCheckpoint } from '../apps/worker/src/checkpoint-io.ts';
import { initTestBackend } from './helpers/backend.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { hp } from './helpers/toy.ts';

const DIR = new URL('./fixtures/graph/', import.meta.url);
const json = JSON.parse(readFileSync(new URL('model.json', DIR), 'utf8'));
const bytes = new Uint8Array(readFileSync(new URL('group1-shard1of1.bin', DIR)));
const loadGraph = () => tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bytes.slice().buffer }));

const labels = ['a', 'b', 'c'];
const HP = hp({ epochs: 3, batchSize: 10, optimizer: 'adam', learningRate: 0.05, seed: 5 });

/** 8x8 images whose brightness (what the graph's mean-pooled features see) tells the class. */
function data(n = 60) {
  const classes = Int32Array.from({ length: n }, (_, i) => i % 3);
  const x = tf.tidy(() => tf.randomUniform([n, 8, 8, 1], 0, 0.3, 'float32', 9).add(tf.tensor1d(Array.from(classes, (c) => c * 0.35)).reshape([n, 1, 1, 1])));
  return { train: tensorSplit(x, classes, 3) };
}

describe('a Graph model base: resume from the head\'s checkpoints', () => {
  let h: Harness;
  let nodes: Awaited<ReturnType<typeof graphSummary>>['layers'];
  before(async () => {
    await initTestBackend();
    h = await createHarness();
    const g = await loadGraph();
    nodes = (await graphSummary(tf, g, json.modelTopology, 2 ** 30)).layers;
    g.dispose();
  });
  after(() => h?.close());

  const fresh = async (): Promise<ModelParts> => {
    const graph = await loadGraph();
    return withSeededRandom(HP.seed, async () => graphParts(graph, { node: 'features', nodes, inputShape: [null, 8, 8, 1], head: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }], numClasses: 3 }));
  };
  const headWeights = (p: ModelParts) => p.head.getWeights().map((w) => Array.from(w.dataSync()));

  it('paused mid-epoch, checkpointed to S3 and resumed in fresh parts, it ends with the uninterrupted weights', async () => {
    const whole = await fresh();
    const full = await withSeededRandom(HP.seed, () => train(whole, data(), { hp: HP, labels }, { shouldStop: () => false as const, onEpochEnd: async () => undefined }));
    assert.equal(full.fastPath, true, 'the frozen graph runs once over the data');
    assert.ok(full.epochs[2].loss < full.epochs[0].loss, `it learns: ${full.epochs.map((e) => e.loss)}`);

    const first = await fresh();
    const history: EpochResult[] = [];
    const prefix = `jobs/graph-resume/checkpoints/`;
    let point: TrainPoint | undefined;
    let batches = 0;
    await withSeededRandom(HP.seed, () => train(first, data(), { hp: HP, labels }, {
      shouldStop: async () => (++batches > 8 ? 'pause' : false),
      onEpochEnd: async (r) => void history.push(r),
      onInterrupt: async (p, opt) => {
        point = p;
        // What the train stage writes: the saved model (the head), its optimizer slots and the point.
        await saveCheckpoint(h.storage, prefix, savedModel(first), p, await opt());
      },
    }));
    assert.deepEqual(point && { epoch: point.epoch, batch: point.batch }, { epoch: 1, batch: 2 });

    const second = await fresh();
    const checkpoint = await loadCheckpoint(h.storage, prefix, savedModel(second));
    assert.ok(checkpoint, 'the checkpoint reads back');
    const resume = { ...checkpoint.point, optimizers: checkpoint.optimizers, history, epochWeights: async () => [] };
    const resumed = await withSeededRandom(HP.seed, () => train(second, data(), { hp: HP, labels, resume }, { shouldStop: () => false as const, onEpochEnd: async () => undefined }));
    assert.deepEqual(resumed.epochs.map((e) => e.loss), full.epochs.map((e) => e.loss));
    assert.deepEqual(headWeights(second), headWeights(whole), 'bit for bit');
    [whole, first, second].forEach(disposeParts);
  });
});
