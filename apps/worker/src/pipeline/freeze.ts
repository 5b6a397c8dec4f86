// Stage 2, freeze: cut the base at a layer, put the requested head on top,
// and fix the base's weights so only the head learns.
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { applyLayers, checkOutput } from '../../../shared/ml/layer-spec.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { LayerSpec } from '../../../shared/jobs/spec.ts';

export interface FreezeOptions {
  /** Base layer whose output feeds the head. @defaultValue the layer before the base's output layer */
  cutLayer?: string;
  head: LayerSpec[];
  freeze: 'all' | 'none';
  numClasses: number;
}

export interface FrozenModel {
  model: LayersModel;
  /** Names of the layers that came from the base. */
  baseLayers: string[];
  cutLayer: string;
}

/** The layer the head attaches to: named, or by default the one before the output. */
export function resolveCutLayer(layerNames: string[], cutLayer?: string): string {
  if (cutLayer !== undefined) {
    if (!layerNames.includes(cutLayer)) {
      throw new UnprocessableError('cut_layer_not_found', `The base model has no layer named "${cutLayer}"`, { cutLayer, layers: layerNames });
    }
    return cutLayer;
  }
  if (layerNames.length < 2) throw new UnprocessableError('cut_layer_not_found', 'The base model has too few layers to drop its output layer');
  return layerNames[layerNames.length - 2];
}

export function freeze(base: LayersModel, opts: FreezeOptions): FrozenModel {
  const cutLayer = resolveCutLayer(base.layers.map((l) => l.name), opts.cutLayer);
  const cut = base.getLayer(cutLayer);
  const baseNames = new Set(base.layers.map((l) => l.name));
  const output = applyLayers(cut.output as SymbolicTensor, opts.head, 'head', new Set(baseNames));
  checkOutput(output, opts.numClasses);
  const model = tf.model({ inputs: base.inputs, outputs: output });
  const kept = new Set(model.layers);
  // Layers above the cut are no longer reachable; free their weights now.
  for (const layer of base.layers) if (!kept.has(layer)) layer.dispose();
  const baseLayers = model.layers.filter((l) => baseNames.has(l.name));
  for (const layer of baseLayers) layer.trainable = opts.freeze === 'none';
  return { model, baseLayers: baseLayers.map((l) => l.name), cutLayer };
}
