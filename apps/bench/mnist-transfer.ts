// `npm run bench`: the Keras mnist_transfer_cnn recipe, ours against the
// anchors users would pick (PyTorch 2, Keras 3 on TensorFlow, and Debian's
// PyTorch 1.13 where installed), the same work on every side, each measured:
// (1) full training, (2) the recipe as written (frozen base every batch),
// (3) the smart way (base features once, then the head). Repeats are
// interleaved (ours, anchor, anchor, ours, ...) and reported as medians with
// their range. A benchmark, not a test: run it alone (flock -x /tmp/cpu.lock).
//
//   npm run bench -- [--anchors ../shared/anchors] [--venv DIR] [--epochs 1] [--repeats 3] [--threads 2]
//                    [--ours wasm[,tensorflow]] [--quick] [--examples N]
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { anchorsVenv, debianTorch, findAnchors, kerasSide, oursSide, torchSide, type Run, type Side } from './anchors.ts';
import { table } from './bench-table.ts';
import { countDigits, mnistDir, writeSubset } from './mnist-idx.ts';

const { values } = parseArgs({
  options: {
    anchors: { type: 'string' },
    venv: { type: 'string', default: path.join(os.tmpdir(), 'anchors-venv') },
    epochs: { type: 'string' },
    repeats: { type: 'string' },
    threads: { type: 'string', default: '2' },
    // Our side's backends, one column each: TF_BACKEND's choice by default (auto: what the worker would pick).
    ours: { type: 'string' },
    quick: { type: 'boolean', default: false },
    examples: { type: 'string' },
  },
});
const quick = values.quick;
const epochs = Number(values.epochs ?? 1);
const repeats = Number(values.repeats ?? (quick ? 1 : 3));
const threads = Number(values.threads);
const examples = values.examples ? Number(values.examples) : quick ? 2048 : undefined;
const config = loadConfig();
const backends = (values.ours ?? config.tfBackend).split(',');

// Every side reads the same IDX folder: all of MNIST, or its first N examples (test: N / 4).
let data = mnistDir();
if (examples) {
  data = path.join(os.tmpdir(), `bench-mnist-${examples}`);
  await writeSubset(mnistDir(), data, { train: examples, test: Math.ceil(examples / 4) });
}
const setup = { data, epochs, threads };

const sides: Side[] = backends.map((b) => oursSide(b, setup));
const missing: string[] = [];
const anchorsDir = findAnchors(values.anchors);
if (!anchorsDir) {
  missing.push(`PyTorch 2 and Keras 3: no anchors folder ${values.anchors ? `at ${values.anchors}` : 'at ../shared/anchors'}; pass --anchors DIR (the folder with torch_mnist_transfer.py, keras_mnist_transfer.py and setup.sh)`);
} else {
  try {
    const venv = await anchorsVenv(anchorsDir, values.venv!);
    console.log(`anchors: ${anchorsDir}, venv ${values.venv} (${venv.versions})`);
    const versions = Object.fromEntries(venv.versions.split('|').map((p) => p.trim().split(' ')));
    // The recipe's examples per fine-tuning run: what PyTorch's frozen-base rate applies to.
    const recipeExamples = (await countDigits(data, 'train', 5)) * epochs;
    sides.push(torchSide(`PyTorch ${versions.torch}`, venv.python, anchorsDir, setup, recipeExamples));
    sides.push(kerasSide(`Keras ${versions.keras} / TF ${versions.tensorflow}`, venv.python, anchorsDir, setup));
    const debian = await debianTorch();
    if ('missing' in debian) missing.push(`PyTorch 1.13 (Debian): ${debian.missing}`);
    else sides.push(torchSide(`PyTorch ${debian.version} (Debian, generic BLAS)`, debian.python, anchorsDir, setup, recipeExamples));
  } catch (err) {
    missing.push(`PyTorch 2 and Keras 3: the anchors' virtual environment could not be set up: ${(err as Error).message}`);
  }
}
if (threads !== 2) missing.push(`note: the PyTorch script sets 2 threads itself; ours and Keras ran on ${threads}`);

const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
console.log(`${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, node ${process.version}; epochs ${epochs}, repeats ${repeats}, threads ${threads}, data ${examples ? `first ${examples} train / ${Math.ceil(examples / 4)} test examples of MNIST` : 'all of MNIST'}`);
for (const m of missing) console.log(m);

const runs: Array<Array<Run | undefined>> = sides.map(() => []);
for (let k = 0; k < repeats; k++) {
  for (const [i, side] of sides.entries()) {
    const started = performance.now();
    const run = await side.run().catch((err: Error) => {
      console.log(`  ${side.name}, repeat ${k + 1}: failed: ${err.message}`);
      return undefined;
    });
    runs[i].push(run);
    if (run) {
      console.log(`  repeat ${k + 1}, ${side.name}: full ${run.fullExPerSec.toFixed(0)} ex/s, recipe ${run.recipeSeconds.toFixed(1)} s, smart ${run.smartSeconds === undefined ? '–' : `${run.smartSeconds.toFixed(1)} s`}; ` +
        `acc ${run.fullAcc.toFixed(4)} / ${run.recipeAcc.toFixed(4)} / ${run.smartAcc?.toFixed(4) ?? '–'} (${((performance.now() - started) / 1000).toFixed(0)} s${run.notes ? `; ${run.notes}` : ''})`);
    }
  }
}
if (runs[0].every((r) => r === undefined)) throw new Error('our side failed in every repeat');

console.log(`\n${command}\n`);
console.log(table(sides.map((s) => s.name), runs, backends.length));
console.log(`
Each cell: median [min–max] of ${repeats} interleaved repeats; ratios are medians of ours / anchor within each repeat
(examples/s: above 1 is faster; seconds: below 1 is faster). Same data, epochs, batch 128, Adadelta lr 1.0 on every side.
- (2): our frozen base runs in inference mode, so its dropout (0.25) is off; PyTorch and Keras run the recipe's dropout on.
  PyTorch's time is its timed loop (its examples/s over the same examples); Keras's wall includes compile and a 256-example warm-up.
- (3): our fast path computes the frozen base's features once, in inference mode (dropout off), then trains the head on them;
  its time covers the training features, the head and scoring the test set (whose features Keras computes in its time too).
  A semantic difference from the recipe as written, where the frozen base's dropout is on in every batch.
  PyTorch's anchor script does not measure this way ('–').`);
