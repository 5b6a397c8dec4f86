import { UnprocessableError } from '../errors.ts';
import type { LayerSpec } from '../jobs/spec.ts';

/** The layer the head attaches to: by name, by index, or by default the one before the output. */
export function resolveCutLayer(layerNames: string[], cutLayer?: string | number): string {
  if (typeof cutLayer === 'string') {
    if (!layerNames.includes(cutLayer)) {
      throw new UnprocessableError('cut_layer_not_found', `The base model has no layer named "${cutLayer}"`, { cutLayer, layers: layerNames });
    }
    return cutLayer;
  }
  const index = cutLayer === undefined ? layerNames.length - 2 : cutLayer < 0 ? layerNames.length + cutLayer : cutLayer;
  if (index < 0 || index >= layerNames.length) {
    throw new UnprocessableError('cut_layer_not_found', `The base model has no layer at index ${cutLayer ?? -2} (it has ${layerNames.length})`, {
      cutLayer: cutLayer ?? -2,
      layers: layerNames,
    });
  }
  return layerNames[index];
}

/** The head when the request gives none: a softmax dense layer, after a flatten when the cut's output is more than [batch, features]. */
export function defaultHead(cutShape: ReadonlyArray<number | null>, numClasses: number): LayerSpec[] {
  return [...(cutShape.length > 2 ? [{ type: 'flatten' as const }] : []), { type: 'dense', units: numClasses, activation: 'softmax' }];
}
