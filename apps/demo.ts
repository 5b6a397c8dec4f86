// `npm run demo [-- --api http://host:port]`: the MNIST transfer story through
// the public API of a running service (start it with `npm start`). Pretrain the
// Keras recipe's conv net on all of digits 0-4; then, for 5 seeds, fine-tune it
// with the conv base frozen on 250 labelled images of 5-9 (each seed its own)
// while the service trains the same architecture from scratch beside it
// (compareWithScratch). Prints every seed and the spread: test accuracy, wall
// time, epochs to 90% validation accuracy.
import { parseArgs } from 'node:util';
import { FinetuneClient, type Comparison, type Job, type JobEvent } from './client/index.ts';
import { readQuickstartKey } from './shared/auth/quickstart-key.ts';
import { loadConfig } from './shared/config.ts';
import { CLASSIFIER, FEATURES } from './bench/recipe.ts';
import { median, spread } from './bench/bench-table.ts';

const { values } = parseArgs({ options: { api: { type: 'string', default: 'http://127.0.0.1:3000' }, 'key-file': { type: 'string', default: loadConfig().quickstartKeyFile } } });
const apiKey = await readQuickstartKey(values['key-file']);
if (!apiKey) throw new Error(`No API key in ${values['key-file']}: start the service with npm start first (it writes one)`);
const client = new FinetuneClient({ baseUrl: values.api!.replace(/\/$/, ''), apiKey });

const SEEDS = [1, 2, 3, 4, 5];
const EXAMPLES = 250;
const TARGET = 0.9;
const started = performance.now();

/** What the demo prints of a job; moved by its events. */
interface Seen {
  status: string;
  stage: string | null;
  epoch: number;
  totalEpochs: number;
  loss?: number;
}

function apply(seen: Seen, e: JobEvent): void {
  const d = e.data;
  if (e.type === 'status' && typeof d.status === 'string') seen.status = d.status;
  else if (e.type === 'stage' && typeof d.stage === 'string') seen.stage = d.stage;
  else if (e.type === 'epoch' && typeof d.epoch === 'number') {
    seen.epoch = d.epoch;
    if (typeof d.totalEpochs === 'number') seen.totalEpochs = d.totalEpochs;
    if (typeof d.loss === 'number') seen.loss = d.loss;
  }
}

/** Follows the job's event stream to its end; prints a line when its status or stage (and, with `epochs`, its epoch) changes. */
async function follow(job: Job, label: string, epochs = false): Promise<Job> {
  const seen: Seen = { status: job.status, stage: job.stage, epoch: job.progress.epoch, totalEpochs: job.progress.totalEpochs };
  let last = '';
  const print = () => {
    const line = `${label}: ${seen.status}${seen.stage ? ` (${seen.stage})` : ''}` +
      (epochs ? ` epoch ${seen.epoch}/${seen.totalEpochs}${seen.loss !== undefined ? ` loss ${seen.loss.toFixed(4)}` : ''}` : '');
    if (line !== last) console.log(line);
    last = line;
  };
  print();
  const done = await client.jobs.wait(job.id, { onEvent: (e) => { apply(seen, e); print(); } });
  if (done.status !== 'succeeded') throw new Error(`${label} ${done.status}: ${JSON.stringify(done.error)}`);
  return done;
}

const mnist = (name: string, source: { split: 'train' | 'test'; classes: number[]; count?: number; offset?: number }) =>
  client.datasets.create({ name, source: { type: 'mnist', ...source } });

// The base: the Keras mnist_transfer_cnn recipe on all 30,596 training images of digits 0-4.
const low = await mnist('digits 0-4', { split: 'train', classes: [0, 1, 2, 3, 4] });
const lowTest = await mnist('digits 0-4 test', { split: 'test', classes: [0, 1, 2, 3, 4] });
const highTest = await mnist('digits 5-9 test', { split: 'test', classes: [5, 6, 7, 8, 9] });
const pre = await client.jobs.create({
  type: 'pretrain',
  name: 'mnist 0-4 base',
  architecture: [...FEATURES, ...CLASSIFIER],
  hyperparameters: { epochs: 2, batchSize: 128, optimizer: 'adadelta', learningRate: 1, validationSplit: 0 },
  trainDatasetId: low.id,
  testDatasetId: lowTest.id,
});
const base = await follow(pre, 'pretrain 0-4', true);

// Little data: 250 labelled images of 5-9 per seed (200 to train on, 50 to validate), each seed its own.
const jobs: Job[] = [];
for (const seed of SEEDS) {
  const few = await mnist(`digits 5-9, ${EXAMPLES} images (seed ${seed})`, { split: 'train', classes: [5, 6, 7, 8, 9], count: EXAMPLES, offset: (seed - 1) * EXAMPLES });
  jobs.push(await client.jobs.create({
    name: `mnist 5-9 fine-tuned, seed ${seed}`,
    baseModelId: base.outputModelId!,
    cutLayer: 'flatten',
    freeze: 'all',
    head: CLASSIFIER,
    hyperparameters: { epochs: 20, batchSize: 32, optimizer: 'adadelta', learningRate: 1, validationSplit: 0.2, seed },
    trainDatasetId: few.id,
    testDatasetId: highTest.id,
    compareWithScratch: true,
    targetValAccuracy: TARGET,
  }));
}
const done: Job[] = [];
for (const [i, job] of jobs.entries()) done.push(await follow(job, `fine-tune + scratch, seed ${SEEDS[i]}`));

const comparisons = done.map((j) => j.evaluation!.comparison!);
console.log(`\npretrain 0-4 (30,596 images, 2 epochs): test accuracy ${base.evaluation!.accuracy.toFixed(4)} on ${base.evaluation!.numExamples} test images`);
console.log(`\n5-9 from ${EXAMPLES} labelled images per seed (200 train + 50 validation; MNIST has 29,404), test: all ${done[0].evaluation!.numExamples} test images of 5-9`);
printSeeds(comparisons);
printSpread(comparisons);
const link = await client.models.downloadUrl(done[0].outputModelId!);
console.log(`\nLoad the seed-${SEEDS[0]} model anywhere for the next few minutes, no key needed: tf.loadLayersModel('${link.href}')`);

function printSeeds(cs: Comparison[]): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const e = (n: number | null) => (n === null ? 'never' : String(n));
  console.log(`seed | fine-tuned acc | scratch acc |   gain | fine-tuned wall | scratch wall | epochs to ${TARGET * 100}% val (fine-tuned / scratch)`);
  cs.forEach((c, i) => {
    const gain = (c.fineTuned.testAccuracy - c.scratch.testAccuracy) * 100;
    console.log(`${String(SEEDS[i]).padEnd(4)} | ${c.fineTuned.testAccuracy.toFixed(4).padStart(14)} | ${c.scratch.testAccuracy.toFixed(4).padStart(11)} | ` +
      `${`${gain >= 0 ? '+' : ''}${gain.toFixed(1)}`.padStart(6)} | ${s(c.fineTuned.wallTimeMs).padStart(15)} | ${s(c.scratch.wallTimeMs).padStart(12)} | ${e(c.fineTuned.epochsToTarget)} / ${e(c.scratch.epochsToTarget)}`);
  });
}

function printSpread(cs: Comparison[]): void {
  const of = (f: (c: Comparison) => number) => cs.map(f);
  const gains = of((c) => (c.fineTuned.testAccuracy - c.scratch.testAccuracy) * 100);
  const reached = (side: 'fineTuned' | 'scratch') => cs.filter((c) => c[side].epochsToTarget !== null).length;
  console.log(`\nmedian [min–max] over ${cs.length} seeds:`);
  console.log(`  test accuracy: fine-tuned ${spread(of((c) => c.fineTuned.testAccuracy), 4)}, from scratch ${spread(of((c) => c.scratch.testAccuracy), 4)}`);
  console.log(`  gain: ${spread(gains, 1)} points; fine-tuned ahead in ${gains.filter((g) => g > 0).length} of ${cs.length} seeds`);
  console.log(`  wall time: fine-tuned ${spread(of((c) => c.fineTuned.wallTimeMs / 1000), 1, ' s')}, from scratch ${spread(of((c) => c.scratch.wallTimeMs / 1000), 1, ' s')}` +
    ` (${median(of((c) => c.scratch.wallTimeMs / c.fineTuned.wallTimeMs)).toFixed(1)}× less for fine-tuning)`);
  console.log(`  ${TARGET * 100}% validation accuracy reached: fine-tuned in ${reached('fineTuned')} of ${cs.length} seeds, from scratch in ${reached('scratch')}`);
  console.log(`  (the demo took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
