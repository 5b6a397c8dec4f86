// The frozen-base feature cache on a real S3-protocol server: a hit gives the
// features the base computes now, and the key is the examples' content, so a
// changed example misses and the same examples under another name hit.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs';
import { loadConfigWith } from '../apps/shared/config.ts';
import type { StoredSource } from '../apps/shared/data/dataset-source.ts';
import { s3IOHandler } from '../apps/shared/ml/s3-io-handler.ts';
import { tf } from '../apps/shared/ml/tf.ts';
import { initTestBackend } from './helpers/backend.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../apps/shared/storage/embedded-s3.ts';
import { Storage } from '../apps/shared/storage/s3-storage.ts';
import { cachedFeatures, featureKey, type Features } from '../apps/worker/src/feature-cache.ts';
import { loadJobData, type JobData } from '../apps/worker/src/job-data.ts';
import { buildModel } from '../apps/worker/src/pipeline/build.ts';
import { disposeParts, freeze, type ModelParts } from '../apps/worker/src/pipeline/freeze.ts';
import { loadModel } from '../apps/worker/src/pipeline/load.ts';
import { predictBatched } from '../apps/worker/src/pipeline/scoring.ts';
import { withSeededRandom } from '../apps/worker/src/pipeline/seed.ts';
import { irisLikeCsv } from './helpers/fixtures.ts';
import { hp, noHooks } from './helpers/toy.ts';
import type { Freeze } from '../apps/shared/jobs/spec.ts';
import { createLogger } from '../apps/shared/logger.ts';
import { train } from '../apps/worker/src/pipeline/train.ts';
import { baseFeatures } from '../apps/worker/src/stages/base-features.ts';
import type { StageContext } from '../apps/worker/src/stages/context.ts';
import { trainData } from '../apps/worker/src/stages/train.ts';

const LABELS = ['setosa', 'versicolor', 'virginica'];

describe('feature cache', () => {
  let dir: string;
  let s3: EmbeddedS3;
  let storage: Storage;

  before(async () => {
    await initTestBackend();
    dir = await mkdtemp(path.join(tmpdir(), 'ftest-cache-'));
    s3 = await startEmbeddedS3({ dir, port: 0 });
    storage = new Storage({ ...loadConfigWith({ S3_BUCKET: 'feature-cache' }).s3, endpoint: s3.endpoint });
    await storage.ensureBucket();
  });
  after(async () => {
    storage.destroy();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A base with dropout (off in inference mode, as the cache must compute it), saved to S3 and loaded as a job does. */
  async function base(prefix: string, seed: number, mode: Freeze = 'all'): Promise<{ parts: ModelParts; digest: string }> {
    const built = withSeededRandom(seed, async () => buildModel([4], [
      { type: 'dense', units: 8, activation: 'tanh', name: 'hidden' },
      { type: 'dropout', rate: 0.5, name: 'drop' },
      { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
    ], 3));
    const model = (await built).model;
    await model.save(s3IOHandler(storage, prefix));
    model.dispose();
    const loaded = await loadModel(storage, prefix);
    return { parts: freeze(loaded.model, { cutLayer: 'drop', head: [{ type: 'dense', units: 3, activation: 'softmax' }], freeze: mode, numClasses: 3 }), digest: loaded.digest };
  }

  /** A CSV dataset as the worker reads it, with a seeded validation split. */
  async function dataset(objectKey: string, csv: string): Promise<JobData> {
    await storage.put(objectKey, csv);
    const source: StoredSource = { type: 's3', uri: `s3://${storage.bucket}/${objectKey}`, format: 'csv', labelColumn: 'species', featureColumns: ['f0', 'f1', 'f2', 'f3'], objectKey };
    return loadJobData(storage, LABELS, { source }, { validationSplit: 0.2, seed: 5 });
  }

  const keyOf = (digest: string, data: JobData) => featureKey({ modelDigest: digest, cutLayer: 'drop', train: data.train.digest, validation: data.validation?.digest });
  const values = (t: Tensor) => Array.from(t.dataSync());
  const dispose = (f: Features) => tf.dispose([f.train, ...(f.validation ? [f.validation] : [])]);

  it('a hit returns exactly the features the base computes now, for training and validation data', async () => {
    const { parts, digest } = await base('models/a/', 1);
    const data = await dataset('datasets/one/data.csv', irisLikeCsv(60));
    const key = keyOf(digest, data);
    const miss = await cachedFeatures(storage, parts, { train: data.train, validation: data.validation }, key);
    const hit = await cachedFeatures(storage, parts, { train: data.train, validation: data.validation }, key);
    assert.equal(miss.hit, false);
    assert.equal(hit.hit, true);
    const fresh = { train: predictBatched(parts.base!, data.train.tensor!), validation: predictBatched(parts.base!, data.validation!.tensor!) };
    assert.deepEqual(hit.features.train.shape, [48, 8]);
    assert.deepEqual(values(hit.features.train), values(fresh.train), 'training features');
    assert.deepEqual(values(hit.features.validation!), values(fresh.validation), 'validation features');
    [miss.features, hit.features, fresh].forEach(dispose);
    data.dispose();
    disposeParts(parts);
  });

  it('the key is the content: a changed example (same dataset, other bytes) misses; the same examples elsewhere hit; another base misses', async () => {
    const { parts, digest } = await base('models/b/', 2);
    const csv = irisLikeCsv(60);
    const original = await dataset('datasets/two/data.csv', csv);
    const first = await cachedFeatures(storage, parts, { train: original.train, validation: original.validation }, keyOf(digest, original));
    assert.equal(first.hit, false);

    // The same object, one value changed: same shape, same rows, same name.
    const lines = csv.split('\n');
    lines[7] = lines[7].replace(/^[^,]+/, '9.5');
    const changed = await dataset('datasets/two/data.csv', lines.join('\n'));
    assert.deepEqual(changed.train.tensor!.shape, original.train.tensor!.shape);
    assert.notEqual(keyOf(digest, changed), keyOf(digest, original));
    const second = await cachedFeatures(storage, parts, { train: changed.train, validation: changed.validation }, keyOf(digest, changed));
    assert.equal(second.hit, false, 'changed bytes must not hit the old entry');
    const fresh = [predictBatched(parts.base!, changed.train.tensor!), predictBatched(parts.base!, changed.validation!.tensor!)];
    assert.deepEqual([values(second.features.train), values(second.features.validation!)], fresh.map(values));

    // The original bytes under another name are the same examples: a hit.
    const copy = await dataset('datasets/three/data.csv', csv);
    const third = await cachedFeatures(storage, parts, { train: copy.train, validation: copy.validation }, keyOf(digest, copy));
    assert.equal(third.hit, true);
    assert.deepEqual(values(third.features.train), values(first.features.train));

    // Another base (same topology, other weights) on the same examples: a miss.
    const other = await base('models/c/', 3);
    assert.notEqual(other.digest, digest);
    const fourth = await cachedFeatures(storage, other.parts, { train: copy.train, validation: copy.validation }, keyOf(other.digest, copy));
    assert.equal(fourth.hit, false);
    [first, second, third, fourth].forEach((r) => dispose(r.features));
    tf.dispose(fresh);
    [original, changed, copy].forEach((d) => d.dispose());
    disposeParts(parts);
    disposeParts(other.parts);
  });
  it('two bases with the same topology and weight bytes but another weights manifest order are other models, with other keys', async () => {
    const { parts } = await base('models/m1/', 6);
    disposeParts(parts);
    const json = JSON.parse(new TextDecoder().decode(await storage.getBytes('models/m1/model.json')));
    const [group] = json.weightsManifest;
    // The same bytes read in another order: the first two entries swap places (other values where the shapes allow).
    const entries = group.weights as Array<{ name: string; shape: number[] }>;
    const swapped = [entries[1], entries[0], ...entries.slice(2)];
    assert.notDeepEqual(swapped.map((w) => w.name), entries.map((w) => w.name));
    await storage.put('models/m2/model.json', JSON.stringify({ ...json, weightsManifest: [{ ...group, weights: swapped }] }));
    for (const p of group.paths) await storage.put(`models/m2/${p}`, await storage.getBytes(`models/m1/${p}`));
    const [a, b] = [await loadModel(storage, 'models/m1/'), await loadModel(storage, 'models/m2/')];
    // Not all ones: a bias of zeros shifted into the kernel sums to the same output for equal inputs.
    const x = tf.tensor([[0.5, -1, 2, 3]]);
    const [ya, yb] = [a.model.predict(x) as Tensor, b.model.predict(x) as Tensor];
    assert.notDeepEqual(values(ya), values(yb), 'the reordered manifest is another model');
    assert.notEqual(a.digest, b.digest);
    const key = (digest: string) => featureKey({ modelDigest: digest, cutLayer: 'drop', train: 'same' });
    assert.notEqual(key(a.digest), key(b.digest));
    tf.dispose([x, ya, yb]);
    a.model.dispose();
    b.model.dispose();
  });

  it('one rule for "frozen throughout": a base unfrozen only after the last epoch gets cached features, and training takes the fast path with them', async () => {
    // unfreezeEvery 3 over 3 epochs unfreezes nothing; over 4 epochs it unfreezes a block in the last.
    const { parts, digest } = await base('models/d/', 4, { unfreezeEvery: 3 });
    const data = await dataset('datasets/four/data.csv', irisLikeCsv(60));
    const config = loadConfigWith({ LOG_LEVEL: 'silent' });
    const stage = (epochs: number) => ({
      run: { storage, log: createLogger(config, { role: 'test' }) },
      job: { sweepId: null },
      spec: { hyperparameters: hp({ epochs }) },
    }) as unknown as StageContext;
    const built = { parts, baseDigest: digest };
    const first = await baseFeatures(stage(3), { data }, built);
    assert.equal(first?.cache, 'miss', 'a base frozen in every epoch has its features computed once and cached');
    const second = await baseFeatures(stage(3), { data }, built);
    assert.equal(second?.cache, 'hit');
    const result = await train(parts, trainData(data), { hp: hp({ epochs: 3, batchSize: 16 }), labels: LABELS, features: second!.features }, noHooks);
    assert.equal(result.fastPath, true, 'training agrees the base is frozen throughout');
    assert.equal(await baseFeatures(stage(4), { data }, built), null, 'a base that trains in some epoch gets no cached features');
    [first!, second!].forEach((f) => dispose(f.features));
    data.dispose();
    disposeParts(parts);
  });
});
