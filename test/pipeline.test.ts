// The pipeline stages on their own, without HTTP or queues.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { initTestBackend } from './helpers/backend.ts';
import { disposeParts, freeze } from '../apps/worker/src/pipeline/freeze.ts';
import { hp, tinyBase, toyData, weightBytes } from './helpers/toy.ts';
import { train } from '../apps/worker/src/pipeline/train.ts';
import { classMetrics, evaluate } from '../apps/worker/src/pipeline/evaluate.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { AppError } from '../apps/shared/errors.ts';
import { classify } from '../apps/worker/src/run-job.ts';
import { guardKernels, KernelUnavailableError } from '../apps/worker/src/kernel-guard.ts';

describe('pipeline stages', () => {
  before(async () => {
    await initTestBackend();
  });

  it('freeze: the base stays byte-identical through training while the head changes', async () => {
    const parts = freeze(tinyBase(), {
      head: [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dropout', rate: 0.1 }, { type: 'dense', units: 2, activation: 'softmax' }],
      freeze: 'all',
      numClasses: 2,
    });
    const { model } = parts;
    assert.equal(parts.cutLayer, 'hidden2', 'by default the base loses its output layer');
    assert.ok(!model.layers.some((l) => l.name === 'out'));
    assert.deepEqual(model.outputs[0].shape, [null, 2]);
    assert.deepEqual(parts.baseBlocks.map((l) => l.name), ['hidden1', 'hidden2']);
    for (const l of parts.baseBlocks) assert.equal(l.trainable, false);
    const headNames = parts.head.layers.filter((l) => l.countParams() > 0).map((l) => l.name);
    assert.equal(headNames.length, 2);

    const before = weightBytes(model, ['hidden1', 'hidden2']);
    const headBefore = weightBytes(model, headNames);
    const data = toyData(64, 2);
    const epochs: number[] = [];
    const result = await train(parts, data, { hp: hp({ epochs: 3, batchSize: 16, learningRate: 0.05 }), labels: ['a', 'b'] }, {
      shouldStop: () => false,
      onEpochEnd: async (r) => void epochs.push(r.epoch),
    });
    assert.equal(result.stopped, null);
    assert.equal(result.fastPath, true);
    assert.deepEqual(epochs, [1, 2, 3]);

    const afterBase = weightBytes(model, ['hidden1', 'hidden2']);
    for (const [k, v] of before) assert.ok(v.equals(afterBase.get(k)!), `${k} changed`);
    const afterHead = weightBytes(model, headNames);
    for (const [k, v] of headBefore) assert.ok(!v.equals(afterHead.get(k)!), `${k} did not move`);
    tf.dispose([data.x, data.y]);
    disposeParts(parts);
  });

  it('freeze: none leaves the base trainable; a cut by name or index keeps the layers below it', () => {
    const named = freeze(tinyBase(), { cutLayer: 'hidden1', head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: 'none', numClasses: 3 });
    assert.ok(!named.model.layers.some((l) => l.name === 'hidden2'));
    assert.equal(named.model.getLayer('hidden1').trainable, true);
    disposeParts(named);
    const indexed = freeze(tinyBase(), { cutLayer: -3, head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: 'all', numClasses: 3 });
    assert.equal(indexed.cutLayer, 'hidden1');
    disposeParts(indexed);
  });

  it('freeze: refuses a cut layer that does not exist and a head with the wrong class count', () => {
    const base = tinyBase();
    assert.throws(() => freeze(base, { cutLayer: 'nope', head: [{ type: 'dense', units: 3 }], freeze: 'all', numClasses: 3 }), (e: AppError) => e.code === 'cut_layer_not_found');
    assert.throws(() => freeze(base, { cutLayer: 17, head: [{ type: 'dense', units: 3 }], freeze: 'all', numClasses: 3 }), (e: AppError) => e.code === 'cut_layer_not_found');
    assert.throws(() => freeze(base, { head: [{ type: 'dense', units: 4 }], freeze: 'all', numClasses: 3 }), (e: AppError) => e.code === 'class_count_mismatch');
  });

  it('train: shouldStop stops at a batch boundary and reports the partial epoch as stopped', async () => {
    const parts = buildModel([6], [{ type: 'dense', units: 3, activation: 'softmax' }], 3);
    const data = toyData(256, 3);
    let batches = 0;
    const epochs: number[] = [];
    const result = await train(parts, data, { hp: hp({ epochs: 5, batchSize: 8 }), labels: ['a', 'b', 'c'] }, {
      shouldStop: () => (++batches >= 5 ? 'cancel' : false),
      onEpochEnd: async (r) => void epochs.push(r.epoch),
    });
    assert.equal(result.stopped, 'cancel');
    assert.deepEqual(epochs, [], 'a stopped epoch writes no metrics');
    assert.equal(batches, 5);
    tf.dispose([data.x, data.y]);
    disposeParts(parts);
  });

  it('a kernel the backend lacks becomes kernel_unavailable, not a retryable crash', async () => {
    // A real missing kernel (wasm has no UnsortedSegmentSum), typed by the guard at the engine, not by its text.
    await import('@tensorflow/tfjs-backend-wasm');
    guardKernels();
    const previous = tf.getBackend();
    await tf.setBackend('wasm');
    let thrown: unknown;
    try {
      tf.tidy(() => tf.unsortedSegmentSum(tf.tensor1d([1, 2]), tf.tensor1d([0, 1], 'int32'), 2));
    } catch (e) {
      thrown = e;
    } finally {
      await tf.setBackend(previous);
    }
    assert.ok(thrown instanceof KernelUnavailableError);
    const err = classify(thrown, { name: 'wasm', kind: 'wasm' }) as AppError;
    assert.equal(err.code, 'kernel_unavailable');
    assert.equal(err.retryable, false);
    assert.deepEqual(err.details, { kernel: 'UnsortedSegmentSum', backend: 'wasm' });
    const other = new Error('boom');
    assert.equal(classify(other, { name: 'wasm', kind: 'wasm' }), other);
    // Text alone decides nothing.
    const lookalike = new Error("Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'");
    assert.equal(classify(lookalike, { name: 'wasm', kind: 'wasm' }), lookalike);
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

