// From measurements to options: every way of training the advisor considers,
// each with its hyperparameters, its compute and an expected validation
// accuracy. The estimate starts from measured numbers (the ridge probe at each
// cut and on the raw inputs, at half and all of the sample) and applies a
// few stated rules (docs/advice.md): the probe's error extrapolated along its
// own learning curve to the task's size; a hidden-layer head beats a linear
// probe; unfreezing K layers reaches what a head on the features K layers down
// reaches (measured there), adapting more with more data; a net from scratch
// gains on its raw probe with data.
import { defaultEpochs, type Advice, type AdviceOption } from '../../../shared/jobs/advice.ts';

type Cut = Advice['cuts'][number];
type Freeze = AdviceOption['freeze'];

export interface RecommendInput {
  data: Advice['data'];
  similarity: Advice['similarity'];
  cuts: Cut[];
  sampleSize: number;
  rawProbeAccuracy: number;
  rawProbeAccuracyHalf: number;
  /** Layers with weights in the head put on a cut (the default head: 1). */
  headWeightedLayers: number;
  /** Fixed epochs for every option (a budget); default from the data size. */
  epochs?: number;
  batchSize?: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Error at `n` examples from the error at the sample and at half of it: err ∝ n^-b. */
export function extrapolatedError(acc: number, accHalf: number, sample: number, n: number): number {
  const err = clamp(1 - acc, 1e-3, 1);
  const errHalf = clamp(1 - accHalf, 1e-3, 1);
  const b = clamp(Math.log2(errHalf / err), 0.05, 0.5);
  return n <= sample ? err : err * (sample / n) ** b;
}

export { defaultEpochs };

/** How much of the probe's error a net trained on `n` examples keeps: less with more data (scratch's rule). */
export function dataAbundance(n: number): number {
  return clamp(1 - 0.3 * Math.log10(n / 100), 0.25, 1);
}

/** How much training base layers adapts them to the task, as a fraction of the error removed: more with more data. */
export function adaptation(n: number): number {
  return clamp(0.1 * Math.log10(n / 250), 0, 0.3);
}

function freezeModes(blocks: number, epochs: number): Freeze[] {
  const modes: Freeze[] = ['all', { unfreezeTop: 1 }];
  if (blocks > 2) modes.push({ unfreezeTop: 2 });
  if (epochs >= 2 && blocks > 1) modes.push({ unfreezeEvery: Math.max(1, Math.floor(epochs / Math.min(blocks, 3))) });
  if (blocks > 1) modes.push('none');
  return modes;
}

/** Mean number of base blocks training per epoch. */
function meanUnfrozen(freeze: Freeze, blocks: number, epochs: number): number {
  if (freeze === 'all') return 0;
  if (freeze === 'none') return blocks;
  if ('unfreezeTop' in freeze) return Math.min(blocks, freeze.unfreezeTop);
  let sum = 0;
  for (let e = 0; e < epochs; e++) sum += Math.min(blocks, Math.floor(e / freeze.unfreezeEvery));
  return sum / epochs;
}

export function freezeLabel(f: Freeze): string {
  return typeof f === 'string' ? f : 'unfreezeTop' in f ? `top${f.unfreezeTop}` : `every${f.unfreezeEvery}`;
}

/** Of `n` epochs, how many base blocks train at the end (gradual unfreezing reaches fewer than it could). */
export function finalUnfrozen(freeze: Freeze, blocks: number, epochs: number): number {
  if (freeze === 'all') return 0;
  if (freeze === 'none') return blocks;
  if ('unfreezeTop' in freeze) return Math.min(blocks, freeze.unfreezeTop);
  return Math.min(blocks, Math.floor((epochs - 1) / freeze.unfreezeEvery));
}

/**
 * Expected error of a head trained on the features `w` weighted layers up:
 * the measured cut with exactly that many weighted layers below, else the
 * nearest one above it (conservative); 0 layers is the raw input, i.e. scratch.
 */
function levelError(levels: Array<{ w: number; err: number }>, w: number): number {
  const at = levels.filter((l) => l.w >= w).sort((a, b) => a.w - b.w)[0];
  return at ? at.err : Math.min(...levels.map((l) => l.err));
}

export function options(input: RecommendInput): AdviceOption[] {
  const n = input.data.examples;
  const epochs = input.epochs ?? defaultEpochs(n);
  const batchSize = input.batchSize ?? 32;
  const head = input.headWeightedLayers;
  const scratchErr = clamp(extrapolatedError(input.rawProbeAccuracy, input.rawProbeAccuracyHalf, input.sampleSize, n) * dataAbundance(n), 0, 1);
  // A hidden-layer head does better than the linear probe on the same features.
  const levels = [...input.cuts.map((c) => ({ w: c.weightedLayersBelow, err: 0.8 * extrapolatedError(c.probeAccuracy, c.probeAccuracyHalf, input.sampleSize, n) })), { w: 0, err: scratchErr }];
  // Training base layers also adapts them to the task: more so with more data.
  const adapt = adaptation(n);
  const out: AdviceOption[] = [];
  for (const cut of input.cuts.filter((c) => c.offered)) {
    const frozenErr = levelError(levels, cut.weightedLayersBelow);
    for (const freeze of freezeModes(cut.weightedLayersBelow, epochs)) {
      const unfrozen = meanUnfrozen(freeze, cut.weightedLayersBelow, epochs);
      const k = finalUnfrozen(freeze, cut.weightedLayersBelow, epochs);
      // Unfreezing k layers can re-learn them from the features k layers down, and starts no worse than frozen.
      const reached = k === 0 ? frozenErr : Math.min(frozenErr, levelError(levels, cut.weightedLayersBelow - k)) * (1 - adapt);
      const err = typeof freeze === 'object' && 'unfreezeEvery' in freeze ? (frozenErr + 2 * reached) / 3 : reached;
      out.push({
        id: `finetune:${cut.layer}:${freezeLabel(freeze)}`,
        strategy: 'finetune',
        cutLayer: cut.layer,
        freeze,
        hyperparameters: { optimizer: 'adam', learningRate: 1e-3, ...(freeze === 'all' ? {} : { baseLearningRateMultiplier: 0.1 }), epochs, batchSize },
        expectedValAccuracy: 1 - clamp(err, 0, 1),
        compute: n * epochs * (head + unfrozen),
        sharesFeaturePass: freeze === 'all',
      });
    }
  }
  const blocks = Math.max(0, ...input.cuts.map((c) => c.weightedLayersBelow));
  out.push({
    id: 'scratch',
    strategy: 'scratch',
    freeze: 'none',
    hyperparameters: { optimizer: 'adam', learningRate: 1e-3, epochs, batchSize },
    expectedValAccuracy: 1 - scratchErr,
    compute: n * epochs * (head + blocks),
    sharesFeaturePass: false,
  });
  return out;
}

/** The best expected accuracy; within half a point of it, the least compute. */
export function pick(opts: AdviceOption[]): AdviceOption {
  const best = Math.max(...opts.map((o) => o.expectedValAccuracy));
  return opts.filter((o) => o.expectedValAccuracy >= best - 0.005).sort((a, b) => a.compute - b.compute)[0];
}

export function reasons(input: RecommendInput, chosen: AdviceOption): string[] {
  const bestCut = input.cuts.filter((c) => c.offered).sort((a, b) => b.logme - a.logme)[0];
  const r = [
    `${input.data.examples} examples in ${input.data.classes} classes (balance ${input.data.balance.toFixed(2)}, smallest/largest class ${input.data.minMaxRatio.toFixed(2)})`,
    `similarity ${input.similarity.value.toFixed(2)}: ${input.similarity.value > 0.5 ? 'the base is confident on these inputs' : 'the base is unsure on these inputs'}`,
  ];
  if (bestCut) r.push(`highest LogME at ${bestCut.layer} (${bestCut.logme.toFixed(3)}), probe accuracy ${(bestCut.probeAccuracy * 100).toFixed(1)}%`);
  r.push(`raw-input probe accuracy ${(input.rawProbeAccuracy * 100).toFixed(1)}%`);
  r.push(`${chosen.id}: expected validation accuracy ${(chosen.expectedValAccuracy * 100).toFixed(1)}% for ${chosen.compute} example-layers`);
  return r;
}
