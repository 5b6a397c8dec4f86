// `strategy: "auto"` on POST /v1/jobs, through the API and a real worker: the
// job measures the base (as an advice job), trains the advisor's short list,
// publishes the best on validation as its output model and records every
// option (GET /v1/jobs/:id `auto`); fields auto chooses itself are refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { api, createDataset, finished, http, submitJob, waitForJob } from './helpers/api.ts';

const deepMlp = (classes: number) => [
  { type: 'flatten' },
  { type: 'dense', units: 24, activation: 'relu', name: 'h1' },
  { type: 'dense', units: 16, activation: 'relu', name: 'features' },
  { type: 'dense', units: classes, activation: 'softmax', name: 'output' },
];

describe('strategy auto', () => {
  let h: Harness;
  let baseModelId: string;
  let trainDatasetId: string;
  before(async () => {
    h = await createHarness({ worker: true });
    const low = await createDataset(h.app, 'digits 0-4', { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 300 });
    trainDatasetId = (await createDataset(h.app, 'digits 5-9', { type: 'mnist', split: 'train', classes: [5, 6, 7, 8, 9], count: 600 })).id;
    const pre = await submitJob(h.app, { type: 'pretrain', architecture: deepMlp(5), hyperparameters: { epochs: 2, learningRate: 0.01 }, trainDatasetId: low.id });
    const base = await waitForJob(h.app, pre.id, finished);
    assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
    baseModelId = base.outputModelId;
  });
  after(() => h?.close());

  it('refuses what auto chooses itself, naming the fields', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ cutLayer: 'h1' }, ['cutLayer']],
      [{ freeze: 'none', hyperparameters: { learningRate: 0.01, baseLearningRateMultiplier: 0.5 } }, ['freeze', 'hyperparameters.learningRate', 'hyperparameters.baseLearningRateMultiplier']],
      [{ hyperparameters: { epochs: 7 } }, ['hyperparameters.epochs']],
      [{ compareWithScratch: true }, ['compareWithScratch']],
      [{ head: [{ type: 'dense', units: 5, activation: 'softmax' }] }, ['head']],
    ];
    for (const [extra, fields] of cases) {
      const res = await http(h.app).post('/v1/jobs').send({ baseModelId, trainDatasetId, strategy: 'auto', ...extra });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'strategy_conflict');
      assert.deepEqual(res.body.error.details.fields, fields);
    }
    const pretrain = await http(h.app).post('/v1/jobs').send({ type: 'pretrain', architecture: deepMlp(5), trainDatasetId, strategy: 'auto' });
    assert.equal(pretrain.body.error?.code, 'strategy_conflict', JSON.stringify(pretrain.body));
  });

  it('on a conv base whose default cut is a vector, trains options cut at a conv map (the default head for each cut)', async () => {
    // The default cut (`features`, a flatten) is [null, 484], its planned head one dense layer; the advisor also
    // offers the [null, 26, 26, 4] `conv` cut, where that head alone would answer [null, 26, 26, 5] (class_count_mismatch).
    const convBase = [
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' },
      { type: 'maxPooling2d', poolSize: 2, name: 'pool' },
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu', name: 'conv2' },
      { type: 'flatten', name: 'features' },
      { type: 'dense', units: 5, activation: 'softmax', name: 'output' },
    ];
    const pre = await submitJob(h.app, { type: 'pretrain', architecture: convBase, hyperparameters: { epochs: 1, learningRate: 0.01 }, trainDatasetId });
    const base = await waitForJob(h.app, pre.id, finished);
    assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
    const job = await api(h.app).jobs.create({ baseModelId: base.outputModelId, trainDatasetId, strategy: 'auto', hyperparameters: { batchSize: 64 } });
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const row = await h.db.jobAdvice.findUniqueOrThrow({ where: { jobId: job.id } });
    const options = (row.advice as { options: Array<{ id: string; cutLayer?: string }> }).options;
    const trainedCuts = done.auto.options.filter((o: { trained: boolean }) => o.trained).map((o: { id: string }) => options.find((a) => a.id === o.id)!.cutLayer);
    assert.ok(trainedCuts.some((c: string | undefined) => c === 'conv'), `the conv-map cut was trained: ${JSON.stringify(trainedCuts)}`);
  });

  it('trains the short list, keeps the best on validation as the output model, and records every option', async () => {
    // The batch size is the user's (auto does not choose it); an explicit default learning rate is harmless.
    const job = await api(h.app).jobs.create({ baseModelId, trainDatasetId, strategy: 'auto', hyperparameters: { batchSize: 64, learningRate: 0.001 } });
    assert.equal(job.spec.strategy, 'auto');
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const auto = done.auto;
    assert.ok(auto, 'GET /v1/jobs/:id shows the auto record');
    const row = await h.db.jobAdvice.findUniqueOrThrow({ where: { jobId: job.id } });
    const advice = row.advice as { options: Array<{ id: string; expectedValAccuracy: number; compute: number; sharesFeaturePass: boolean; cutLayer?: string }>; recommended: string };
    // Every option the advisor considered is on the record, with its expectation; 2–3 were trained.
    assert.deepEqual(auto.options.map((o: { id: string }) => o.id), advice.options.map((o) => o.id));
    assert.equal(auto.recommended, advice.recommended);
    const trained = auto.options.filter((o: { trained: boolean }) => o.trained);
    assert.ok(trained.length >= 2 && trained.length <= 3, JSON.stringify(trained));
    for (const o of trained) {
      assert.ok(o.measuredValAccuracy >= 0 && o.measuredValAccuracy <= 1);
      assert.ok(o.computeUsed > 0 && o.epochsRun > 0);
    }
    for (const o of auto.options.filter((x: { trained: boolean }) => !x.trained)) assert.equal(o.measuredValAccuracy, undefined);
    // The winner is the best trained option on validation; the job's output is its model.
    const best = Math.max(...trained.map((o: { measuredValAccuracy: number }) => o.measuredValAccuracy));
    assert.equal(trained.find((o: { id: string }) => o.id === auto.winner).measuredValAccuracy, best);
    assert.ok(done.outputModelId);
    const model = (await http(h.app).get(`/v1/models/${done.outputModelId}`)).body;
    const winner = advice.options.find((o) => o.id === auto.winner)!;
    if (winner.cutLayer === 'h1') assert.ok(!model.layers.some((l: { name: string }) => l.name === 'features'), 'cut at h1: the base layer above it is gone');
    assert.equal(done.evaluation.numExamples > 0, true);
    // Compute: what the trained options used, against training every option.
    assert.equal(auto.compute.used, trained.reduce((a: number, o: { computeUsed: number }) => a + o.computeUsed, 0));
    assert.ok(auto.compute.used < auto.compute.allOptions);
    // One feature pass per cut of the frozen options trained, computed here (the cache was empty).
    const frozenCuts = new Set(trained.filter((o: { id: string }) => advice.options.find((a) => a.id === o.id)!.sharesFeaturePass).map((o: { id: string }) => advice.options.find((a) => a.id === o.id)!.cutLayer));
    assert.equal(auto.featurePasses, frozenCuts.size);
    // The CLI-facing client type carries it too.
    assert.equal((await api(h.app).jobs.get(job.id)).auto?.winner, auto.winner);

    // The same auto job again: its frozen options read their cut's features from the feature cache (no pass),
    // and being seeded it measures the same and keeps the same winner.
    const again = await api(h.app).jobs.create({ baseModelId, trainDatasetId, strategy: 'auto', hyperparameters: { batchSize: 64 } });
    const second = await waitForJob(h.app, again.id, finished, 300_000);
    assert.equal(second.status, 'succeeded', JSON.stringify(second.error));
    assert.equal(second.auto.featurePasses, 0);
    const frozenTrained = second.auto.options.filter((o: { trained: boolean; featureCache?: string }) => o.trained && o.featureCache !== undefined);
    assert.ok(frozenTrained.length >= 1 && frozenTrained.every((o: { featureCache: string }) => o.featureCache === 'hit'), JSON.stringify(second.auto.options));
    assert.equal(second.auto.winner, auto.winner);
    assert.deepEqual(second.auto.options.map((o: { measuredValAccuracy?: number }) => o.measuredValAccuracy), auto.options.map((o: { measuredValAccuracy?: number }) => o.measuredValAccuracy));
  });
});
