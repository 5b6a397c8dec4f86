// A cancelled advice stops between measurement cuts: the stop check is asked
// before each cut's activations are computed, and a stop ends the measurement
// there (AdviceStopped) instead of measuring the remaining cuts.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../apps/shared/ml/tf.ts';
import { activations } from '../apps/worker/src/advice/features.ts';
import { advise, AdviceStopped } from '../apps/worker/src/advice/measure.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { initTestBackend } from './helpers/backend.ts';
import { tinyBase, toyData } from './helpers/toy.ts';

describe('advice cancel', () => {
  before(async () => {
    await initTestBackend();
  });

  it('stops before the next cut once a cancel is asked, having measured only the cuts before it', async () => {
    const base = await withSeededRandom(3, async () => tinyBase());
    const data = toyData(80, 3);
    const measured: string[] = [];
    let cancelled = false;
    const features = async (layer: string, x: Tensor) => {
      measured.push(layer);
      cancelled = true; // the cancel arrives while the first cut is measured
      return activations(base, layer, x);
    };
    const err = await advise({ base, x: data.x, classes: data.classes, numClasses: 3, sampleSize: 60, features, shouldStop: async () => (cancelled ? 'cancel' : false) }).catch((e: unknown) => e);
    assert.ok(err instanceof AdviceStopped, String(err));
    assert.equal(err.reason, 'cancel');
    assert.equal(err.cutsMeasured, 1);
    assert.deepEqual(measured, ['hidden2'], 'the second cut (hidden1) is never computed');

    // Without a stop, both cuts are measured: the check itself does not end it.
    measured.length = 0;
    cancelled = false;
    const advice = await advise({ base, x: data.x, classes: data.classes, numClasses: 3, sampleSize: 60, features: async (l, x) => (measured.push(l), activations(base, l, x)), shouldStop: async () => false });
    assert.deepEqual(measured, ['hidden2', 'hidden1']);
    assert.equal(advice.cuts.length, 2);
    tf.dispose([data.x, data.y]);
    base.dispose();
  });
});
