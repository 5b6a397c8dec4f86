// One run of our side of `npm run bench`, in its own process so that each
// backend is a column of its own (a process picks its backend once): the
// recipe through the worker's pipeline stages, three ways. Prints one JSON line.
//
//   tsx apps/bench/transfer-ours.ts --data MNIST_IDX_DIR --epochs 1 --backend wasm --threads 2 [--seed 42]
import { parseArgs } from 'node:util';
import type { LayersModel } from '@tensorflow/tfjs';
import { loadConfig, type TfBackendChoice } from '../shared/config.ts';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { buildModel } from '../worker/src/pipeline/build.ts';
import { evaluate } from '../worker/src/pipeline/evaluate.ts';
import { disposeParts, freeze, type ModelParts } from '../worker/src/pipeline/freeze.ts';
import { withSeededRandom } from '../worker/src/pipeline/seed.ts';
import { train } from '../worker/src/pipeline/train.ts';
import { TrainingPeers } from '../worker/src/parallel/training-peers.ts';
import { loadDigits, type Digits } from './mnist-idx.ts';
import { CLASSIFIER, FEATURES, recipeHp } from './recipe.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    epochs: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
  },
});
const epochs = Number(values.epochs);
const hp = recipeHp(epochs, Number(values.seed));
const labels = ['0', '1', '2', '3', '4'];
const noHooks = { shouldStop: () => false as const, onEpochEnd: async () => undefined };

// Threads as the worker uses them: data-parallel peers on the single-threaded backends; native
// TensorFlow splits each op over its intra-op pool instead, set as the Keras anchor sets its own.
const threads = Number(values.threads);
const backend = await initBackend(values.backend as TfBackendChoice, { ...loadConfig(), tfIntraOpThreads: threads, tfInterOpThreads: 1 });
const dataParallel = backend.kind === 'wasm' || backend.kind === 'cpu';
const peers = dataParallel && threads > 1 ? await TrainingPeers.start(threads - 1, backend) : undefined;

const [low, lowTest, high, highTest] = await Promise.all([
  loadDigits(values.data!, 'train', 0), loadDigits(values.data!, 'test', 0), loadDigits(values.data!, 'train', 5), loadDigits(values.data!, 'test', 5),
]);
const seconds = (since: number) => (performance.now() - since) / 1000;
const accuracy = async (model: LayersModel, d: Digits) => (await evaluate(model, d.x, d.classes, labels, 'test', 512)).accuracy;

// (1) Full training: the whole conv net on digits 0-4.
const pre = withSeededRandom(hp.seed, async () => buildModel([28, 28, 1], [...FEATURES, ...CLASSIFIER], 5));
const pretrained = (await pre).model;
let t = performance.now();
await train(await pre, low, { hp, labels, peers }, noHooks);
const full = { seconds: seconds(t), examples: low.classes.length * epochs, testAcc: await accuracy(pretrained, lowTest) };
const topology = pretrained.toJSON(null, false);
if (typeof topology === 'string') throw new Error('toJSON(null, false) returned a string');
const weights = pretrained.getWeights().map((w) => w.clone());

/** The pretrained base with a new head (seeded), conv base frozen. freeze() consumes its model, so each way gets a copy. */
async function fineTuneParts(): Promise<ModelParts> {
  const copy = await tf.models.modelFromJSON({ modelTopology: topology });
  copy.setWeights(weights);
  return withSeededRandom(hp.seed + 1, async () => freeze(copy, { cutLayer: 'flatten', head: CLASSIFIER, freeze: 'all', numClasses: 5 }));
}

// (2) The recipe as written: the frozen base runs every batch (in inference mode: its dropout is off).
const recipe = await fineTuneParts();
t = performance.now();
await train(recipe, high, { hp, labels, peers, disableFastPath: true }, noHooks);
const recipeResult = { seconds: seconds(t), examples: high.classes.length * epochs, testAcc: await accuracy(recipe.model, highTest) };
disposeParts(recipe);

// (3) The smart way: the base's features once (training and test data), then the head alone.
const smart = await fineTuneParts();
t = performance.now();
const features = peers ? (await peers.load(smart), await peers.features(smart.base!, high.x)) : tf.tidy(() => smart.base!.predict(high.x, { batchSize: 512 }) as tf.Tensor);
const featureSeconds = seconds(t);
const result = await train(smart, high, { hp, labels, peers, features: { train: features } }, noHooks);
const headSeconds = seconds(t) - featureSeconds;
const testStart = performance.now();
const smartAcc = await accuracy(smart.model, highTest);
const smartResult = { seconds: seconds(t), featureSeconds, headSeconds, testSeconds: seconds(testStart), testAcc: smartAcc, fastPath: result.fastPath };
tf.dispose([features, ...weights]);
disposeParts(smart);
pretrained.dispose();
tf.dispose([low, lowTest, high, highTest].flatMap((d) => [d.x, d.y]));
await peers?.close();

console.log(JSON.stringify({
  backend: backend.kind,
  threads,
  full,
  recipe: recipeResult,
  smart: smartResult,
  tensors: tf.memory().numTensors,
  rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
}));
