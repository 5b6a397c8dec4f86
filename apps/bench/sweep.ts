// `npm run bench:sweep`: one sweep on a frozen base through the API and one
// worker, on real Postgres, Redis and S3 (docs/sweeps.md). A tiny MLP is
// pretrained on digits 0-4, then a grid of up to 24 trials (learningRate ×
// headUnits × optimizer × batchSize = 3 × 2 × 2 × 2) fine-tunes its head on
// digits 5-9. Prints the sweep's record: feature passes computed and reused,
// each trial's compute, the leaderboard, the wall time. Exits 1 when a cut's
// features were computed more than once, or the sweep did not succeed.
//
//   npm run bench:sweep -- [--trials 24] [--count 300] [--epochs 3] [--parallelism 4] [--concurrency 3]
// (--trials keeps the grid's first dimensions while their product stays within it: 24, 12, 6 or 3)
import { parseArgs } from 'node:util';
import { startServices } from './sweep/setup.ts';

const { values } = parseArgs({ options: {
  trials: { type: 'string', default: '24' }, count: { type: 'string', default: '300' }, epochs: { type: 'string', default: '3' },
  parallelism: { type: 'string', default: '4' }, concurrency: { type: 'string', default: '3' },
} });
const n = (k: keyof typeof values) => Number(values[k]);
type Body = Record<string, any>;

const dims: Array<[string, unknown[]]> = [['learningRate', [0.05, 0.01, 0.002]], ['headUnits', [16, 32]], ['optimizer', ['adam', 'sgd']], ['batchSize', [16, 32]]];
const space: Record<string, unknown[]> = {};
for (const [k, v] of dims) if (Object.values(space).reduce((p, x) => p * x.length, 1) * v.length <= n('trials')) space[k] = v;

const services = await startServices({ WORKER_CONCURRENCY: values.concurrency!, MAX_SWEEP_TRIALS: String(Math.max(100, n('trials'))), MAX_SWEEP_PARALLELISM: String(Math.max(8, n('parallelism'))) });
let failed = true;
try {
  const call = async (method: string, path: string, body?: Body): Promise<Body> => {
    const res = await fetch(services.url + path, { method, headers: { authorization: `Bearer ${services.key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body && JSON.stringify(body) });
    const json = await res.json() as Body;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const until = async (path: string, done: (b: Body) => boolean): Promise<Body> => {
    for (;;) {
      const b = await call('GET', path);
      if (done(b)) return b;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const dataset = async (name: string, classes: number[]) => {
    const d = await call('POST', '/v1/datasets', { name, source: { type: 'mnist', split: 'train', classes, count: n('count') } });
    return until(`/v1/datasets/${d.id}`, (x) => x.status !== 'validating');
  };
  const [low, high] = [await dataset('digits 0-4', [0, 1, 2, 3, 4]), await dataset('digits 5-9', [5, 6, 7, 8, 9])];
  const architecture = [{ type: 'flatten' }, { type: 'dense', units: 32, activation: 'relu', name: 'features' }, { type: 'dense', units: 5, activation: 'softmax', name: 'output' }];
  const pre = await call('POST', '/v1/jobs', { type: 'pretrain', architecture, trainDatasetId: low.id, hyperparameters: { epochs: 2, learningRate: 0.01 } });
  const base = await until(`/v1/jobs/${pre.id}`, (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status));
  if (base.status !== 'succeeded') throw new Error(`the base did not train: ${JSON.stringify(base.error)}`);

  const started = performance.now();
  const posted = await call('POST', '/v1/sweeps', {
    job: { type: 'finetune', baseModelId: base.outputModelId, trainDatasetId: high.id, freeze: 'all', hyperparameters: { epochs: n('epochs'), validationSplit: 0.2 } },
    space, parallelism: n('parallelism'),
  });
  const s = await until(`/v1/sweeps/${posted.id}`, (x) => x.status !== 'running');
  const wallS = (performance.now() - started) / 1000;
  const fixed = (v: number | null) => (v === null ? '—' : v.toFixed(4));
  console.log(`sweep ${s.id}: ${s.status}${s.error ? ` (${s.error.code}: ${s.error.message})` : ''}; ${s.maxTrials} trials (${Object.keys(space).join(' × ')}), parallelism ${s.parallelism}, ${n('count')} examples a dataset, ${n('epochs')} epochs, worker concurrency ${values.concurrency}`);
  console.log(`feature passes: ${s.featurePasses.computed} computed, ${s.featurePasses.reused} reused; stopped early (ASHA): ${s.trials.stoppedEarly}; computeUsed ${s.computeUsed} example-layers; wall ${wallS.toFixed(1)} s`);
  console.log('rank  trial  status     objective  epochs  stopped  features  exampleLayers  params');
  s.leaderboard.forEach((t: Body, i: number) => console.log([
    String(i + 1).padEnd(5), String(t.index).padEnd(6), t.status.padEnd(10), fixed(t.objective).padEnd(10), String(t.epochsRun).padEnd(7),
    (t.stoppedEarly ? `at ${t.prunedAtEpoch}` : '').padEnd(8), String(t.features ?? '—').padEnd(9), String(t.compute?.exampleLayers ?? '—').padEnd(14), JSON.stringify(t.params),
  ].join(' ')));
  // One frozen cut: its features are computed once, the rest read them from the feature cache.
  const cuts = 1;
  failed = s.status !== 'succeeded' || s.featurePasses.computed > cuts;
  if (s.featurePasses.computed > cuts) console.error(`FAIL: features computed ${s.featurePasses.computed} times for ${cuts} cut`);
} finally {
  await services.close();
}
process.exit(failed ? 1 : 0);
