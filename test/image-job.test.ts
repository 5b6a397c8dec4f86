// A job on image datasets end to end: digits uploaded as image files (a folder
// per class for training, a JSONL manifest with a split column for the test
// set), registered, and trained on by a worker, which reads the prepared
// shards back from S3 and learns them well above chance.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, submitJob, tinyMlp, waitForJob } from './helpers/api.ts';
import { encode, mnistDigits } from './helpers/images.ts';

describe('a job on image datasets', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ worker: true });
  });
  after(() => h?.close());

  it('trains on a folder-per-class dataset and is evaluated on a manifest split', async () => {
    const digits = await mnistDigits([0, 1, 7], 40);
    const formats = ['png', 'jpeg', 'webp', 'gif'] as const;
    const uri = (key: string) => `s3://${h.storage.bucket}/${h.uploads}${key}`;
    const train = digits.filter((_, i) => i % 40 < 30);
    const test = digits.filter((_, i) => i % 40 >= 30);
    await Promise.all(train.map(async (d, i) => h.storage.put(`${h.uploads}train/${d.label}/${i}.${formats[i % 4]}`, await encode[formats[i % 4]](d))));
    await Promise.all(test.map(async (d, i) => h.storage.put(`${h.uploads}all/${i}.png`, await encode.png(d))));
    const manifest = test.map((d, i) => JSON.stringify({ uri: uri(`all/${i}.png`), label: String(d.label), split: 'test' }));
    await h.storage.put(`${h.uploads}all/manifest.jsonl`, manifest.join('\n'));

    const preprocess = { size: [28, 28], channels: 'grayscale', scaling: 'unit' };
    const trainDs = await createDataset(h.app, 'digits', { type: 'images', layout: 'folders', uri: uri('train/'), preprocess });
    const testDs = await createDataset(h.app, 'digits test', { type: 'images', layout: 'manifest', uri: uri('all/manifest.jsonl'), split: 'test', preprocess });
    const job = await submitJob(h.app, {
      type: 'pretrain',
      architecture: tinyMlp(3),
      hyperparameters: { epochs: 4, batchSize: 16, learningRate: 0.01 },
      trainDatasetId: trainDs.id,
      testDatasetId: testDs.id,
    });
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.evaluation.numExamples, 30);
    assert.ok(done.evaluation.accuracy > 0.6, `accuracy ${done.evaluation.accuracy} (chance is 1/3)`);
  });
});
