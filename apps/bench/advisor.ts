// `npm run bench:advisor`: does `strategy: "auto"` find what an exhaustive
// grid finds, for a fraction of the compute? On three transfer tasks (see
// advisor/tasks.ts) from the MNIST 0–4 base, every option the advisor
// considers is trained (the grid); auto is the advisor's short list of the
// same options (advice/auto.ts), winner by validation accuracy. Training is
// seeded, so auto's runs are the grid's runs of those options: the grid is run
// once and auto read from it. Prints per task the options (expected vs
// measured), then the summary: test-accuracy gap (goal ≤ 1 point), compute
// share (examples × layers trained; goal ≤ 25%), Spearman of expected
// validation accuracy vs measured test accuracy (goal ≥ 0.7; vs validation too).
//
//   npm run bench:advisor -- [--json out.json] [--replay out.json] [--quick] [--all N] [--test N] [--seed 42] [--tasks 1,2,3] [--epochs N]
// (--epochs fixes every option's epochs, the advisor's `budget.epochs`; default: by data size;
// --replay scores a saved run's advice and grid again, with the current auto and refine code, training nothing)
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LayersModel } from '@tensorflow/tfjs';
import { loadConfig } from '../shared/config.ts';
import type { LayerSpec } from '../shared/jobs/spec.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { winner, type Measured } from '../worker/src/advice/auto.ts';
import { autoRounds } from '../worker/src/advice/auto-run.ts';
import { baseUpTo } from '../worker/src/advice/features.ts';
import { advise } from '../worker/src/advice/measure.ts';
import { disposeFeatureSet, runOption, type OptionResult } from '../worker/src/advice/run-option.ts';
import type { Features } from '../worker/src/pipeline/base-features.ts';
import { predictBatched } from '../worker/src/pipeline/scoring.ts';
import { loadMnistBase } from './advisor/base-model.ts';
import { pct, spearman, textTable } from './advisor/report.ts';
import { loadTasks, type Task } from './advisor/tasks.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, all: { type: 'string' }, test: { type: 'string' }, seed: { type: 'string', default: '42' }, tasks: { type: 'string', default: '1,2,3' }, epochs: { type: 'string' }, json: { type: 'string' }, replay: { type: 'string' } } });
const seed = Number(values.seed);
const sizes = { all: values.all ? Number(values.all) : values.quick ? 3000 : Infinity, test: values.test ? Number(values.test) : values.quick ? 1000 : 3000 };

const head = (c: number): LayerSpec[] => [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: c, activation: 'softmax' }];
const scratch = (c: number): LayerSpec[] => [
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' }, { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
  { type: 'maxPooling2d', poolSize: 2 }, { type: 'dropout', rate: 0.25 }, { type: 'flatten' }, ...head(c),
];

const backend = await initBackend(loadConfig().tfBackend, loadConfig());
const proto = await loadMnistBase();
const topology = proto.toJSON(null, false);
if (typeof topology === 'string') throw new Error('toJSON(null, false) returned a string');
const weights = proto.getWeights();
const freshBase = async (): Promise<LayersModel> => {
  const copy = await tf.models.modelFromJSON({ modelTopology: topology });
  copy.setWeights(weights);
  return copy;
};

interface TaskReport { rhoRefined: number; rhoRefinedVal: number; rhoUntrained: number; task: string; advice: Awaited<ReturnType<typeof advise>>; results: Record<string, OptionResult>; rows: Array<Array<string | number>>; gap: number; share: number; rho: number; rhoVal: number; auto: string; best: string; autoTest: number; bestTest: number; featurePasses: number; adviceS: number; gridS: number }

async function runTask(task: Task): Promise<TaskReport> {
  const c = task.labels.length;
  let t = performance.now();
  const advice = await advise({ base: proto, x: task.train.x, classes: task.train.classes, numClasses: c, seed, headWeightedLayers: 2, epochs: values.epochs ? Number(values.epochs) : undefined });
  const adviceS = (performance.now() - t) / 1000;
  // One feature pass per cut, shared by every option frozen at that cut.
  const featureSets = new Map<string, Features>();
  const features = async (cut: string) => {
    if (!featureSets.has(cut)) {
      const base = baseUpTo(proto, cut);
      featureSets.set(cut, { train: predictBatched(base, task.train.x), validation: predictBatched(base, task.train.valX) });
    }
    return featureSets.get(cut)!;
  };
  t = performance.now();
  const results = new Map<string, OptionResult>();
  for (const option of advice.options) {
    const r = await runOption(option, { train: task.train, test: task.test, labels: task.labels }, { base: freshBase, head: head(c), scratch: scratch(c), seed, features });
    results.set(option.id, r);
    console.error(`  ${task.name}: ${option.id} val ${pct(r.valAccuracy)} test ${pct(r.testAccuracy)} (${(r.ms / 1000).toFixed(1)} s)`);
  }
  const gridS = (performance.now() - t) / 1000;
  const featurePasses = featureSets.size;
  for (const f of featureSets.values()) disposeFeatureSet(f);
  return score(task.name, advice, results, { featurePasses, adviceS, gridS });
}

/** Auto's rounds over the grid's runs, and the rankings against what was measured. */
async function score(name: string, advice: Awaited<ReturnType<typeof advise>>, results: Map<string, OptionResult>, times: Pick<TaskReport, 'featurePasses' | 'adviceS' | 'gridS'>): Promise<TaskReport> {
  const measured: Measured[] = advice.options.map((option) => ({ option, valAccuracy: results.get(option.id)!.valAccuracy }));
  // Auto's two rounds read the grid's runs of the same options (seeded: the same runs).
  const rounds = await autoRounds(advice, async (o) => results.get(o.id)!.valAccuracy);
  const ran = new Set(rounds.measured.map((m) => m.option.id));
  const auto = winner(rounds.measured);
  const refined = advice.options.map((o) => rounds.refined.get(o.id)!);
  const untrained = advice.options.filter((o) => !ran.has(o.id));
  const best = winner(measured);
  const compute = (opts: typeof advice.options) => opts.reduce((s, o) => s + o.compute, 0);
  const rows = advice.options.map((o) => {
    const r = results.get(o.id)!;
    return [o.id, pct(o.expectedValAccuracy), pct(rounds.refined.get(o.id)!), pct(r.valAccuracy), pct(r.testAccuracy), o.compute, ran.has(o.id) ? 'auto' : '', o.id === best.option.id ? 'grid best' : ''];
  });
  return {
    task: name, rows, ...times, advice, results: Object.fromEntries(results),
    gap: results.get(best.option.id)!.testAccuracy - results.get(auto.option.id)!.testAccuracy,
    share: compute(advice.options.filter((o) => ran.has(o.id))) / compute(advice.options),
    // Measured ranking: test accuracy (thousands of examples; the task's own validation split can be 50).
    rho: spearman(advice.options.map((o) => o.expectedValAccuracy), advice.options.map((o) => results.get(o.id)!.testAccuracy)),
    rhoVal: spearman(measured.map((m) => m.option.expectedValAccuracy), measured.map((m) => m.valAccuracy)),
    // The refined estimate (frozen options measured, the rest re-estimated from them): over every option, and over the untrained ones only.
    rhoRefined: spearman(refined, advice.options.map((o) => results.get(o.id)!.testAccuracy)),
    rhoRefinedVal: spearman(refined, advice.options.map((o) => results.get(o.id)!.valAccuracy)),
    rhoUntrained: spearman(untrained.map((o) => rounds.refined.get(o.id)!), untrained.map((o) => results.get(o.id)!.testAccuracy)),
    auto: auto.option.id, best: best.option.id, autoTest: results.get(auto.option.id)!.testAccuracy, bestTest: results.get(best.option.id)!.testAccuracy,
  };
}

interface Saved { task: string; advice: TaskReport['advice']; results: Record<string, OptionResult>; featurePasses?: number; adviceS?: number; gridS?: number }
const picked = new Set(values.tasks!.split(',').map(Number));
const runs: Array<() => Promise<TaskReport>> = values.replay
  ? (JSON.parse(readFileSync(values.replay, 'utf8')) as Saved[]).map((s) => () => score(s.task, s.advice, new Map(Object.entries(s.results)), { featurePasses: s.featurePasses ?? NaN, adviceS: s.adviceS ?? NaN, gridS: s.gridS ?? NaN }))
  : (await loadTasks(sizes, seed)).filter((_, i) => picked.has(i + 1)).map((task) => () => runTask(task));
const reports: TaskReport[] = [];
for (const run of runs) {
  reports.push(await run());
  const r = reports.at(-1)!;
  console.log(`\n${r.task} (advice ${r.adviceS.toFixed(1)} s, grid ${r.gridS.toFixed(0)} s, ${r.featurePasses} feature passes for the frozen options)`);
  console.log(textTable(['option', 'expected val % (probes)', 'refined val %', 'measured val %', 'test %', 'compute', 'auto runs', ''], r.rows));
  console.log(`auto ${r.auto} ${pct(r.autoTest)}% vs grid ${r.best} ${pct(r.bestTest)}%: gap ${(r.gap * 100).toFixed(1)} pts, compute ${(r.share * 100).toFixed(0)}%, Spearman probes ${r.rho.toFixed(2)} (test) ${r.rhoVal.toFixed(2)} (val), refined ${r.rhoRefined.toFixed(2)} (test) ${r.rhoRefinedVal.toFixed(2)} (val) ${r.rhoUntrained.toFixed(2)} (test, untrained options only)`);
}
console.log(`\n${values.replay ? `replayed ${values.replay}` : `backend ${backend.kind}, seed ${seed}, test sets of ${sizes.test}, epochs ${values.epochs ?? 'by data size'}`}; goals: gap ≤ 1 point, compute ≤ 25%, Spearman ≥ 0.7`);
console.log(textTable(
  ['task', 'auto picks', 'auto test %', 'grid best', 'grid test %', 'gap (pts)', 'auto compute / grid', 'Spearman probes (test)', 'refined (test)', 'refined (val)', 'refined, untrained only (test)'],
  reports.map((r) => [r.task, r.auto, pct(r.autoTest), r.best, pct(r.bestTest), (r.gap * 100).toFixed(1), `${(r.share * 100).toFixed(0)}%`, r.rho.toFixed(2), r.rhoRefined.toFixed(2), r.rhoRefinedVal.toFixed(2), r.rhoUntrained.toFixed(2)]),
));
// The advice (every measurement) and every option's measured run, to study the estimate without rerunning the grid.
if (values.json) writeFileSync(values.json, JSON.stringify(reports.map((r): Saved => ({ task: r.task, advice: r.advice, results: r.results, featurePasses: r.featurePasses, adviceS: r.adviceS, gridS: r.gridS })), null, 1));
