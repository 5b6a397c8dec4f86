import type { LayersModel } from '@tensorflow/tfjs';

export interface LayerSummary {
  name: string;
  className: string;
  trainable: boolean;
  params: number;
  outputShape: Array<number | null> | Array<Array<number | null>>;
}

export interface ModelSummary {
  layers: LayerSummary[];
  inputShape: Array<number | null>;
  outputShape: Array<number | null>;
  totalParams: number;
  trainableParams: number;
}

export function summarize(model: LayersModel): ModelSummary {
  const layers = model.layers.map((l) => ({
    name: l.name,
    className: l.getClassName(),
    trainable: l.trainable,
    params: l.countParams(),
    outputShape: l.outputShape as LayerSummary['outputShape'],
  }));
  const trainableParams = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  return {
    layers,
    inputShape: model.inputs[0].shape,
    outputShape: model.outputs[0].shape,
    totalParams: model.countParams(),
    trainableParams,
  };
}
