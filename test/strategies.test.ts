// Fine-tuning strategies in the train stage: freezing modes, per-part learning
// rates, schedules, class weights, seeds, early stopping, best checkpoint,
// divergence, the frozen-base fast path, and no leaks across many jobs.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { tf } from '../apps/shared/ml/tf.ts';
import { AppError } from '../apps/shared/errors.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { disposeParts, freeze, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { learningRateAt } from '../apps/worker/src/pipeline/optimizers.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { train, type TrainOptions } from '../apps/worker/src/pipeline/train.ts';
import { evaluate } from '../apps/worker/src/pipeline/evaluate.ts';
import { OPTIMIZERS, type Freeze } from '../apps/shared/jobs/spec.ts';
import { disposeData, hp, noHooks, tinyBase, toyData, weightBytes } from './helpers/toy.ts';
import { initTestBackend } from './helpers/backend.ts';

const labels = ['a', 'b', 'c'];
const head = [{ type: 'dense' as const, units: 3, activation: 'softmax' as const }];

/** Builds (seeded) and trains a fine-tuning setup; returns the parts and the result. */
async function run(freezeMode: Freeze, opts: Partial<TrainOptions['hp']>, extra: Partial<TrainOptions> = {}, seed = 7) {
  return withSeededRandom(seed, async () => {
    const parts = freeze(tinyBase(), { head, freeze: freezeMode, numClasses: 3 });
    const data = toyData(96, 3, 3, true);
    const before = weightBytes(parts.model, ['hidden1', 'hidden2']);
    const result = await train(parts, data, { hp: hp({ epochs: 3, batchSize: 16, learningRate: 0.05, seed, ...opts }), labels, ...extra }, noHooks);
    disposeData(data);
    return { parts, result, before };
  });
}

function changed(parts: ModelParts, before: Map<string, Buffer>, layer: string): boolean {
  const now = weightBytes(parts.model, [layer]);
  return [...now].some(([k, v]) => !v.equals(before.get(k)!));
}

function allWeights(parts: ModelParts): Float32Array[] {
  return parts.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('training strategies', () => {
  before(async () => {
    await initTestBackend();
  });

  it('same seed and data give the same metrics and weights; another seed does not', async () => {
    const a = await run('none', { optimizer: 'adam' });
    const b = await run('none', { optimizer: 'adam' });
    const c = await run('none', { optimizer: 'adam' }, {}, 8);
    assert.deepEqual(a.result.epochs.map((e) => [e.loss, e.valLoss]), b.result.epochs.map((e) => [e.loss, e.valLoss]));
    assert.deepEqual(allWeights(a.parts), allWeights(b.parts));
    assert.notDeepEqual(a.result.epochs.map((e) => e.loss), c.result.epochs.map((e) => e.loss));
    [a, b, c].forEach((r) => disposeParts(r.parts));
  });

  it('the fast path (frozen base run once) gives the model that training through the base gives', async () => {
    const fast = await run('all', { optimizer: 'momentum' });
    const slow = await run('all', { optimizer: 'momentum' }, { disableFastPath: true });
    assert.equal(fast.result.fastPath, true);
    assert.equal(slow.result.fastPath, false);
    const fw = allWeights(fast.parts);
    const sw = allWeights(slow.parts);
    fw.forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - sw[i][j]) < 1e-5, `weight ${i}[${j}]: ${v} vs ${sw[i][j]}`)));
    fast.result.epochs.forEach((e, i) => assert.ok(Math.abs(e.loss - slow.result.epochs[i].loss) < 1e-5));
    disposeParts(fast.parts);
    disposeParts(slow.parts);
  });

  it('freezing: all, none, top K, and gradual unfreezing one block every N epochs', async () => {
    const all = await run('all', {});
    assert.equal(changed(all.parts, all.before, 'hidden1'), false, 'all: hidden1');
    assert.equal(changed(all.parts, all.before, 'hidden2'), false, 'all: hidden2');
    const none = await run('none', {});
    assert.equal(changed(none.parts, none.before, 'hidden1'), true, 'none: hidden1');
    assert.equal(changed(none.parts, none.before, 'hidden2'), true, 'none: hidden2');
    const top = await run({ unfreezeTop: 1 }, {});
    assert.equal(changed(top.parts, top.before, 'hidden1'), false, 'top 1: hidden1');
    assert.equal(changed(top.parts, top.before, 'hidden2'), true, 'top 1: hidden2');
    const gradual = await run({ unfreezeEvery: 2 }, { epochs: 5 });
    assert.deepEqual(gradual.result.epochs.map((e) => e.unfrozenBaseLayers), [0, 0, 1, 1, 2]);
    assert.equal(gradual.result.fastPath, false);
    assert.equal(changed(gradual.parts, gradual.before, 'hidden1'), true, 'gradual: hidden1');
    [all, none, top, gradual].forEach((r) => disposeParts(r.parts));
  });

  it('the base can learn at a different rate than the head (0 keeps it fixed)', async () => {
    const r = await run('none', { baseLearningRateMultiplier: 0, optimizer: 'sgd' });
    assert.equal(changed(r.parts, r.before, 'hidden1'), false);
    assert.equal(changed(r.parts, r.before, 'hidden2'), false);
    disposeParts(r.parts);
  });

  it('every optimizer trains and its slots can be saved at each epoch end, as a checkpoint does (update rules: test/optimizers.test.ts)', async () => {
    for (const optimizer of OPTIMIZERS) {
      let slots = 0;
      const r = await withSeededRandom(7, async () => {
        const parts = freeze(tinyBase(), { head, freeze: 'none', numClasses: 3 });
        const data = toyData(96, 3, 3, true);
        const before = weightBytes(parts.model, ['hidden1']);
        const result = await train(parts, data, { hp: hp({ epochs: 2, batchSize: 16, optimizer, learningRate: optimizer === 'adadelta' ? 1 : 0.05 }), labels }, {
          shouldStop: () => false,
          onEpochEnd: async (_e, optimizers) => void (slots = (await optimizers()).flat().length),
        });
        disposeData(data);
        return { parts, result, before };
      });
      assert.ok(r.result.epochs.every((e) => Number.isFinite(e.loss)), optimizer);
      assert.ok(changed(r.parts, r.before, 'hidden1'), optimizer);
      assert.ok(slots >= 1, `${optimizer}: saved ${slots} slots`);
      disposeParts(r.parts);
    }
  });

  it('learning-rate schedules: step, cosine and warm-up', () => {
    const base = hp({ learningRate: 1, epochs: 10 });
    assert.equal(learningRateAt({ ...base, schedule: { type: 'step', everyEpochs: 3, factor: 0.5 } }, 7, 0, 10), 0.25);
    assert.equal(learningRateAt({ ...base, schedule: { type: 'cosine' } }, 0, 0, 10), 1);
    assert.ok(Math.abs(learningRateAt({ ...base, schedule: { type: 'cosine', minLearningRate: 0.1 } }, 5, 0, 10) - 0.55) < 1e-12);
    assert.equal(learningRateAt({ ...base, warmupEpochs: 2 }, 0, 0, 10), 1 / 20);
    assert.equal(learningRateAt({ ...base, warmupEpochs: 2 }, 1, 9, 10), 1);
    assert.equal(learningRateAt({ ...base, warmupEpochs: 2 }, 3, 0, 10), 1);
  });

  it('class weights change the loss; a class weighted 0 no longer counts', async () => {
    const plain = await run('none', {});
    const weighted = await run('none', { classWeights: { a: 0, b: 1, c: 1 } });
    assert.ok(plain.result.epochs[0].loss > weighted.result.epochs[0].loss, 'dropping a class from the loss lowers it');
    const balanced = await run('none', { classWeights: 'balanced' });
    assert.ok(Number.isFinite(balanced.result.epochs[0].loss));
    [plain, weighted, balanced].forEach((r) => disposeParts(r.parts));
  });

  it('early stopping follows its metric, patience and minDelta', async () => {
    const r = await run('none', { epochs: 10, learningRate: 1e-9, optimizer: 'sgd', earlyStopping: { monitor: 'valLoss', patience: 1, minDelta: 0.01 } });
    assert.equal(r.result.earlyStopped, true);
    assert.equal(r.result.epochs.length, 3, 'one epoch sets the best, patience allows one more, the next stops');
    disposeParts(r.parts);
  });

  it('the job ends with the best epoch\'s weights, chosen by a metric', async () => {
    const snapshots: Float32Array[][] = [];
    const r = await withSeededRandom(3, async () => {
      const parts = freeze(tinyBase(), { head, freeze: 'none', numClasses: 3 });
      const data = toyData(96, 3, 3, true);
      const result = await train(parts, data, { hp: hp({ epochs: 6, batchSize: 8, learningRate: 2, optimizer: 'sgd', bestCheckpointMetric: 'valLoss', seed: 3 }), labels }, {
        shouldStop: () => false,
        onEpochEnd: async () => void snapshots.push(allWeights(parts).map((w) => w.slice())),
      });
      disposeData(data);
      return { parts, result };
    });
    const best = r.result.best!;
    assert.equal(best.metric, 'valLoss');
    const losses = r.result.epochs.map((e) => e.valLoss!);
    assert.equal(best.value, Math.min(...losses));
    assert.equal(best.epoch, losses.indexOf(best.value) + 1);
    assert.deepEqual(allWeights(r.parts), snapshots[best.epoch - 1]);
    disposeParts(r.parts);
  });

  it('a NaN or Inf loss stops training with training_diverged', async () => {
    const parts = buildModel([6], [{ type: 'dense', units: 3, activation: 'softmax' }], 3);
    const data = toyData(32, 3);
    // A poisoned example: its loss is NaN the first time it is drawn.
    const huge = tf.tidy(() => data.x.add(tf.oneHot(tf.tensor1d([5], 'int32'), 32).reshape([32, 1]).mul(NaN)));
    const epochs: number[] = [];
    await assert.rejects(
      train(parts, { ...data, x: huge }, { hp: hp({ epochs: 3, batchSize: 8 }), labels }, {
        shouldStop: () => false,
        onEpochEnd: async (e) => void epochs.push(e.epoch),
      }),
      (e: AppError) => e.code === 'training_diverged',
    );
    tf.dispose([huge]);
    disposeData(data);
    disposeParts(parts);
  });

  it('no leaks: tensors stay flat across epochs and across 20 jobs in one process', async () => {
    const counts: number[] = [];
    const rss: number[] = [];
    for (let job = 0; job < 20; job++) {
      const r = await withSeededRandom(job, async () => {
        const parts = freeze(tinyBase(), { head: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, ...head], freeze: job % 2 ? 'all' : 'none', numClasses: 3 });
        const data = toyData(64, 3, job, true);
        const perEpoch: number[] = [];
        await train(parts, data, { hp: hp({ epochs: 3, batchSize: 16, earlyStopping: { patience: 5, minDelta: 0 } }), labels }, {
          shouldStop: () => false,
          onEpochEnd: async () => void perEpoch.push(tf.memory().numTensors),
        });
        await evaluate(parts.model, data.valX!, data.valClasses!, labels, 'validation');
        disposeData(data);
        disposeParts(parts);
        return perEpoch;
      });
      assert.equal(new Set(r).size, 1, `tensors grew across epochs: ${r}`);
      counts.push(tf.memory().numTensors);
      rss.push(process.memoryUsage().rss);
    }
    assert.equal(new Set(counts).size, 1, `tensors after each job: ${counts}`);
    const growthMb = (rss[19] - rss[4]) / 2 ** 20;
    assert.ok(growthMb < 40, `RSS grew ${growthMb.toFixed(1)} MB over 15 jobs`);
  });
});
