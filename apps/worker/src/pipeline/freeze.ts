// Stage 2, freeze: cut the base at a layer, put the requested head on top,
// and decide which base layers learn. The result is in two parts (base up to
// the cut, and the head) so training can run the base once when it is frozen.
import type { layers as tfLayers, LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { applyLayers, checkOutput } from '../../../shared/ml/layer-spec.ts';
import { resolveCutLayer } from '../../../shared/ml/cut-layer.ts';
import type { Freeze, LayerSpec } from '../../../shared/jobs/spec.ts';
import { setUnfrozen } from './batch-gradients.ts';

export interface FreezeOptions {
  /** Base layer (name, or index with negatives from the top) whose output feeds the head. @defaultValue the layer before the output */
  cutLayer?: string | number;
  head: LayerSpec[];
  freeze: Freeze;
  numClasses: number;
}

/** A model ready to train: an optional base (inputs → cut) and a head on top. */
export interface ModelParts {
  base?: LayersModel;
  head: LayersModel;
  /** Input to output in one model, sharing the parts' layers: what is saved and served. */
  model: LayersModel;
  /** Base layers that have weights, bottom to top: unfreezing goes from the top. */
  baseBlocks: tfLayers.Layer[];
  freeze: Freeze;
  cutLayer?: string;
  /** What checkpoints hold and a job publishes: `model`, or for a Graph base its head alone (graph-base.ts). */
  saved?: LayersModel;
  /** A Graph base: the node the head reads. Its graph runs only on this thread (no data-parallel peers). */
  graphNode?: string;
}

/** The model checkpoints hold, best epochs keep and a job publishes. */
export const savedModel = (parts: ModelParts): LayersModel => parts.saved ?? parts.model;

/** How many of the top base blocks train in a given epoch (0-based). */
export function unfrozenBlocks(freeze: Freeze, totalBlocks: number, epoch: number): number {
  if (freeze === 'all') return 0;
  if (freeze === 'none') return totalBlocks;
  if ('unfreezeTop' in freeze) return Math.min(totalBlocks, freeze.unfreezeTop);
  return Math.min(totalBlocks, Math.floor(epoch / freeze.unfreezeEvery));
}

/**
 * No base block trains in any of the job's epochs: the base can run once over
 * the data (training's fast path), and its outputs can be cached. The one rule
 * for "frozen throughout", whatever the freeze mode says.
 */
export function frozenThroughout(freeze: Freeze, totalBlocks: number, epochs: number): boolean {
  for (let epoch = 0; epoch < epochs; epoch++) if (unfrozenBlocks(freeze, totalBlocks, epoch) > 0) return false;
  return true;
}

/** Sets layer.trainable for an epoch; returns how many base blocks train. */
export function applyFreeze(parts: ModelParts, epoch: number): number {
  const k = unfrozenBlocks(parts.freeze, parts.baseBlocks.length, epoch);
  setUnfrozen(parts.baseBlocks, k);
  return k;
}

export function freeze(base: LayersModel, opts: FreezeOptions): ModelParts {
  const cutLayer = resolveCutLayer(base.layers.map((l) => l.name), opts.cutLayer);
  const cut = base.getLayer(cutLayer);
  const cutOutput = cut.output as SymbolicTensor;
  const baseNames = new Set(base.layers.map((l) => l.name));

  const headInput = tf.input({ shape: cutOutput.shape.slice(1) as number[], name: uniqueName('head_input', baseNames) });
  const headOutput = applyLayers(headInput, opts.head, 'head', new Set(baseNames));
  checkOutput(headOutput, opts.numClasses);
  const head = tf.model({ inputs: headInput, outputs: headOutput });
  const baseModel = tf.model({ inputs: base.inputs, outputs: cutOutput });

  // The served model reuses the head's layers on the cut's output.
  let x = cutOutput;
  for (const layer of head.layers.slice(1)) x = layer.apply(x) as SymbolicTensor;
  const model = tf.model({ inputs: base.inputs, outputs: x });

  const kept = new Set(baseModel.layers);
  // Layers above the cut are no longer reachable; free their weights now.
  for (const layer of base.layers) if (!kept.has(layer)) layer.dispose();
  const baseBlocks = baseModel.layers.filter((l) => l.countParams() > 0);
  const parts: ModelParts = { base: baseModel, head, model, baseBlocks, freeze: opts.freeze, cutLayer };
  applyFreeze(parts, 0);
  return parts;
}

function uniqueName(name: string, taken: Set<string>): string {
  let n = name;
  for (let i = 2; taken.has(n); i++) n = `${name}_${i}`;
  return n;
}

/**
 * Frees every weight once. Layers count the models they were applied in: the
 * head's layers sit in both the head and the served model; the base's in one.
 */
export function disposeParts(parts: ModelParts): void {
  parts.model.dispose();
  if (parts.head !== parts.model) parts.head.dispose();
}
