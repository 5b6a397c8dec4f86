// The pipeline stages on their own, without HTTP or queues.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initBackend, tf } from '../apps/shared/ml/tf.ts';
import { freeze } from '../apps/worker/src/pipeline/freeze.ts';
import { train } from '../apps/worker/src/pipeline/train.ts';
import { classMetrics, evaluate } from '../apps/worker/src/pipeline/evaluate.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { DEFAULT_HYPERPARAMETERS } from '../apps/shared/jobs/spec.ts';
import { AppError } from '../apps/shared/errors.ts';

function tinyBase() {
  return buildModel([6], [
    { type: 'dense', units: 8, activation: 'relu', name: 'hidden1' },
    { type: 'dense', units: 8, activation: 'relu', name: 'hidden2' },
    { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
  ], 3);
}

function weightBytes(model: tf.LayersModel, names: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of names) {
    model.getLayer(name).getWeights().forEach((w, i) => out.set(`${name}/${i}`, Buffer.from((w.dataSync() as Float32Array).buffer.slice(0))));
  }
  return out;
}

describe('pipeline stages', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('freeze: the base stays byte-identical through training while the head changes', async () => {
    const base = tinyBase();
    const { model, baseLayers, cutLayer } = freeze(base, {
      head: [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dropout', rate: 0.1 }, { type: 'dense', units: 2, activation: 'softmax' }],
      freeze: 'all',
      numClasses: 2,
    });
    assert.equal(cutLayer, 'hidden2', 'by default the base loses its output layer');
    assert.ok(!model.layers.some((l) => l.name === 'out'));
    assert.deepEqual(model.outputs[0].shape, [null, 2]);
    const frozen = baseLayers.filter((n) => model.getLayer(n).getWeights().length > 0);
    assert.deepEqual(frozen, ['hidden1', 'hidden2']);
    for (const n of baseLayers) assert.equal(model.getLayer(n).trainable, false);
    const headNames = model.layers.filter((l) => !baseLayers.includes(l.name) && l.getWeights().length > 0).map((l) => l.name);
    assert.equal(headNames.length, 2);

    const before = weightBytes(model, frozen);
    const headBefore = weightBytes(model, headNames);
    const x = tf.randomNormal([64, 6], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 2), 'int32'), 2).toFloat();
    const epochs: number[] = [];
    const result = await train(model, { x, y }, { ...DEFAULT_HYPERPARAMETERS, epochs: 3, batchSize: 16, learningRate: 0.05 }, {
      shouldStop: () => false,
      onEpochEnd: async (r) => void epochs.push(r.epoch),
    });
    assert.equal(result.stopped, false);
    assert.deepEqual(epochs, [1, 2, 3]);

    const afterBase = weightBytes(model, frozen);
    for (const [k, v] of before) assert.ok(v.equals(afterBase.get(k)!), `${k} changed`);
    const afterHead = weightBytes(model, headNames);
    let changed = 0;
    for (const [k, v] of headBefore) if (!v.equals(afterHead.get(k)!)) changed++;
    assert.equal(changed, headBefore.size, 'every head weight moved');
    tf.dispose([x, y]);
    model.dispose();
  });

  it('freeze: none leaves the base trainable; a named cut keeps the layers below it', () => {
    const { model } = freeze(tinyBase(), { cutLayer: 'hidden1', head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: 'none', numClasses: 3 });
    assert.ok(!model.layers.some((l) => l.name === 'hidden2'));
    assert.equal(model.getLayer('hidden1').trainable, true);
    model.dispose();
  });

  it('freeze: refuses a cut layer that does not exist and a head with the wrong class count', () => {
    const base = tinyBase();
    assert.throws(() => freeze(base, { cutLayer: 'nope', head: [{ type: 'dense', units: 3 }], freeze: 'all', numClasses: 3 }), (e: AppError) => e.code === 'cut_layer_not_found');
    assert.throws(() => freeze(base, { head: [{ type: 'dense', units: 4 }], freeze: 'all', numClasses: 3 }), (e: AppError) => e.code === 'class_count_mismatch');
  });

  it('train: shouldStop stops at a batch boundary and reports the partial epoch as stopped', async () => {
    const model = tinyBase();
    const x = tf.randomNormal([256, 6]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 256 }, (_, i) => i % 3), 'int32'), 3).toFloat();
    let batches = 0;
    const epochs: number[] = [];
    const result = await train(model, { x, y }, { ...DEFAULT_HYPERPARAMETERS, epochs: 5, batchSize: 8 }, {
      shouldStop: () => ++batches >= 5,
      onEpochEnd: async (r) => void epochs.push(r.epoch),
    });
    assert.equal(result.stopped, true);
    assert.deepEqual(epochs, [], 'a stopped epoch writes no metrics');
    assert.equal(batches, 5);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('evaluate: confusion matrix and per-class precision/recall/F1', async () => {
    const m = classMetrics([[3, 1], [0, 4]], ['a', 'b']);
    assert.equal(m[0].precision, 1);
    assert.equal(m[0].recall, 0.75);
    assert.equal(m[1].precision, 0.8);
    assert.equal(m[1].support, 4);
    assert.ok(Math.abs(m[0].f1 - (2 * 0.75) / 1.75) < 1e-12);

    const model = tinyBase();
    const x = tf.randomNormal([20, 6]);
    const classes = Int32Array.from({ length: 20 }, (_, i) => i % 3);
    const ev = await evaluate(model, x, classes, ['a', 'b', 'c'], 'test', 7);
    assert.equal(ev.numExamples, 20);
    assert.equal(ev.confusionMatrix.flat().reduce((a, b) => a + b, 0), 20);
    const diag = ev.confusionMatrix.reduce((s, row, i) => s + row[i], 0);
    assert.ok(Math.abs(ev.accuracy - diag / 20) < 1e-6, 'accuracy agrees with the confusion matrix');
    assert.ok(Number.isFinite(ev.loss));
    x.dispose();
    model.dispose();
  });
});
