// Checks at POST time that a job can be built, so a bad spec gets a 422 now
// instead of failing after it was queued. Works on stored summaries and
// inferred shapes only: nothing is loaded and no weights are allocated.
import { LimitExceededError, UnprocessableError } from '../../../shared/errors.ts';
import { AUTO_MAX_TRIED, defaultEpochs } from '../../../shared/jobs/advice.ts';
import { DEFAULT_HYPERPARAMETERS, type CreateJob, type JobSpec, type LayerSpec } from '../../../shared/jobs/spec.ts';
import { checkOutput, countParams, inferShape } from '../../../shared/ml/layer-shapes.ts';
import { decodeLayers, decodeShape } from '../../../shared/jobs/decode.ts';
import { defaultHead, resolveCutLayer } from '../../../shared/ml/cut-layer.ts';
import { planPreset } from '../../../shared/ml/presets/index.ts';
import type { Dataset, Model } from '../../../shared/generated/prisma/client.ts';
import { graphCut } from './graph-planner.ts';

export interface PlanInputs {
  body: CreateJob;
  train: Dataset;
  validation?: Dataset;
  test?: Dataset;
  baseModel?: Model;
  /** Largest model a job may build, in parameters. */
  maxParams: number;
  /** MAX_MODEL_LAYERS: layers the job's model may have (the base up to the cut, plus the head). */
  maxLayers?: number;
  /** MAX_EPOCH_EXAMPLES: epochs × training examples. */
  maxEpochExamples?: number;
}

function checkSize(params: number, limit: number): void {
  if (params > limit) {
    throw new LimitExceededError('model_too_large', `The model would have ${params} parameters`, 422, 'MAX_MODEL_PARAMS', limit, params);
  }
}

function checkLayers(layers: number, limit = Infinity): void {
  if (layers > limit) {
    throw new LimitExceededError('model_too_many_layers', `The model would have ${layers} layers`, 422, 'MAX_MODEL_LAYERS', limit, layers);
  }
}

/** Checked before anything is queued: the work a job asks for, not what it happens to do (early stopping may do less). */
function checkWork(epochs: number, examples: number, limit = Infinity): void {
  const work = epochs * examples;
  if (work > limit) {
    throw new LimitExceededError('job_too_large', `${epochs} epochs × ${examples} training examples is ${work}`, 422, 'MAX_EPOCH_EXAMPLES', limit, work);
  }
}

type Shape = Array<number | null>;
const singleOutput = (s: Shape | Shape[]): s is Shape => !s.some((d) => Array.isArray(d));

const sameShape = (a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>) => a.length === b.length && a.every((d, i) => d === b[i]);

function checkDatasets({ train, validation, test }: PlanInputs): void {
  if (train.labels.length < 2) {
    throw new UnprocessableError('dataset_single_class', `Training needs at least two classes; dataset ${train.id} has ${train.labels.length}`);
  }
  for (const [role, d] of [['validation', validation], ['test', test]] as const) {
    if (!d) continue;
    if (!sameShape(d.featureShape, train.featureShape)) {
      throw new UnprocessableError('input_shape_mismatch', `The ${role} dataset's examples have shape [${d.featureShape}], the training set's [${train.featureShape}]`, {
        dataset: role,
        expected: train.featureShape,
        actual: d.featureShape,
      });
    }
    const unknown = d.labels.filter((l) => !train.labels.includes(l));
    if (unknown.length > 0) {
      throw new UnprocessableError('label_mismatch', `The ${role} dataset has labels the training set lacks: ${unknown.slice(0, 10).join(', ')}`, {
        dataset: role,
        unknownLabels: unknown.slice(0, 100),
      });
    }
  }
}

function planFinetune(inputs: PlanInputs, numClasses: number): Pick<JobSpec, 'head' | 'cutLayer'> {
  const { body, baseModel, train } = inputs;
  if (!baseModel) throw new UnprocessableError('base_model_required', 'A finetune job needs baseModelId');
  if (body.architecture) throw new UnprocessableError('invalid_spec', 'architecture is for pretrain jobs; a finetune job takes head');
  const inputShape = decodeShape(baseModel.inputShape, baseModel.id);
  if (!sameShape(inputShape.slice(1), train.featureShape)) {
    throw new UnprocessableError('input_shape_mismatch', `The base model takes inputs of shape [${inputShape.slice(1)}], the dataset has [${train.featureShape}]`, {
      expected: inputShape.slice(1),
      actual: train.featureShape,
    });
  }
  if (baseModel.format === 'graph-head') {
    throw new UnprocessableError('model_unsupported', 'This model is a head trained on a TensorFlow.js Graph model; fine-tune from the Graph model itself', { fault: 'graph_head', parentModelId: baseModel.parentId });
  }
  // The advisor measures cut layers of a LayersModel (as POST /v1/advice refuses): a graph's nodes are not layers it can cut.
  if (body.strategy === 'auto' && baseModel.format !== 'layers-model') {
    throw new UnprocessableError('model_unsupported', 'strategy "auto" is for LayersModel bases; this base is a TensorFlow.js Graph model', { fault: 'graph_model', format: baseModel.format });
  }
  const layers = decodeLayers(baseModel.layers, baseModel.id);
  if (baseModel.format === 'graph-model') return planGraphHead(inputs, layers, numClasses);
  const names = layers.map((l) => l.name);
  const cutIndex = names.indexOf(resolveCutLayer(names, body.cutLayer));
  if (typeof body.freeze === 'object' && 'unfreezeTop' in body.freeze) {
    const blocks = layers.slice(0, cutIndex + 1).filter((l) => l.params > 0).length;
    if (body.freeze.unfreezeTop > blocks) {
      throw new UnprocessableError('invalid_freeze', `unfreezeTop is ${body.freeze.unfreezeTop}, but the base below the cut has ${blocks} layers with weights`, { blocks });
    }
  }
  const cutShape = layers[cutIndex].outputShape;
  if (!singleOutput(cutShape)) throw new UnprocessableError('cut_layer_not_found', `Layer "${names[cutIndex]}" has several outputs and cannot be cut at`);
  const head: LayerSpec[] = body.head ?? defaultHead(cutShape, numClasses);
  checkLayers(cutIndex + 1 + head.length, inputs.maxLayers);
  checkOutput({ shape: inferShape(cutShape, head) }, numClasses);
  const baseParams = layers.slice(0, cutIndex + 1).reduce((sum, l) => sum + l.params, 0);
  checkSize(baseParams + countParams(cutShape, head), inputs.maxParams);
  return { head, cutLayer: names[cutIndex] };
}

/** A Graph model base: frozen, the head on its output or on a named node (graph-planner.ts). */
function planGraphHead(inputs: PlanInputs, nodes: ReturnType<typeof decodeLayers>, numClasses: number): Pick<JobSpec, 'head' | 'cutLayer'> {
  const { body, baseModel } = inputs;
  const cut = graphCut(body, nodes);
  const head = body.head ?? defaultHead(cut.shape, numClasses);
  // The graph counts as one layer: it runs whole, up to the node.
  checkLayers(1 + head.length, inputs.maxLayers);
  checkOutput({ shape: inferShape(cut.shape, head) }, numClasses);
  checkSize(baseModel!.totalParams + countParams(cut.shape, head), inputs.maxParams);
  return { head, cutLayer: cut.node };
}

function planPretrain(inputs: PlanInputs, numClasses: number): Pick<JobSpec, 'architecture'> {
  const { body, train } = inputs;
  if (!body.architecture) throw new UnprocessableError('architecture_required', 'A pretrain job needs architecture: its layers after the input');
  if (body.baseModelId || body.head || body.cutLayer !== undefined || body.freeze !== 'all') {
    throw new UnprocessableError('invalid_spec', 'baseModelId, head, cutLayer and freeze are for finetune jobs');
  }
  const preset = Array.isArray(body.architecture) ? undefined : planPreset(body.architecture, train.featureShape, numClasses);
  if (preset?.built) {
    checkLayers(preset.built.layers, inputs.maxLayers);
    checkSize(preset.built.params, inputs.maxParams);
    return { architecture: preset.architecture };
  }
  const layers = (preset?.architecture ?? body.architecture) as LayerSpec[];
  checkLayers(layers.length, inputs.maxLayers);
  checkOutput({ shape: inferShape([null, ...train.featureShape], layers) }, numClasses);
  checkSize(countParams([null, ...train.featureShape], layers), inputs.maxParams);
  return { architecture: layers };
}

/**
 * strategy "auto" chooses the cut, the freeze and the training hyperparameters itself: a request that also
 * sets one is refused rather than half-obeyed. Fields with a default can only be caught when they differ from
 * it (an explicit default is indistinguishable from none, and harmless: the advisor overrides it).
 */
function checkAuto(body: CreateJob): void {
  const hp = body.hyperparameters ?? {};
  const d = DEFAULT_HYPERPARAMETERS;
  const set: Array<[string, boolean]> = [
    ['type', body.type !== 'finetune'],
    ['cutLayer', body.cutLayer !== undefined],
    // Each option has its own cut: the worker puts the default head for that cut's shape on it.
    ['head', body.head !== undefined],
    ['freeze', body.freeze !== undefined && body.freeze !== 'all'],
    ['compareWithScratch', body.compareWithScratch === true],
    ['hyperparameters.epochs', hp.epochs !== undefined && hp.epochs !== d.epochs],
    ['hyperparameters.learningRate', hp.learningRate !== undefined && hp.learningRate !== d.learningRate],
    ['hyperparameters.optimizer', hp.optimizer !== undefined && hp.optimizer !== d.optimizer],
    ...(['baseLearningRateMultiplier', 'schedule', 'warmupEpochs'] as const).map((k): [string, boolean] => [`hyperparameters.${k}`, hp[k] !== undefined]),
  ];
  const fields = set.filter(([, on]) => on).map(([f]) => f);
  if (fields.length > 0) {
    throw new UnprocessableError('strategy_conflict', `strategy "auto" is for finetune jobs and chooses these itself: ${fields.join(', ')}`, { fields });
  }
}

export function planJob(inputs: PlanInputs): JobSpec {
  const { body, train } = inputs;
  const auto = body.strategy === 'auto';
  if (auto) checkAuto(body);
  checkDatasets(inputs);
  const numClasses = train.labels.length;
  const parts = body.type === 'pretrain' ? { head: [], ...planPretrain(inputs, numClasses) } : planFinetune(inputs, numClasses);
  const hyperparameters = { ...DEFAULT_HYPERPARAMETERS, ...body.hyperparameters };
  // auto trains up to AUTO_MAX_TRIED options for the advisor's epochs each.
  checkWork(auto ? AUTO_MAX_TRIED * defaultEpochs(train.numExamples) : hyperparameters.epochs, train.numExamples, inputs.maxEpochExamples);
  return {
    type: body.type,
    name: body.name,
    baseModelId: body.baseModelId,
    freeze: body.freeze,
    ...parts,
    hyperparameters,
    labels: train.labels,
    trainDatasetId: body.trainDatasetId,
    validationDatasetId: body.validationDatasetId,
    testDatasetId: body.testDatasetId,
    compareWithScratch: body.compareWithScratch ?? false,
    targetValAccuracy: body.targetValAccuracy ?? 0.9,
    ...(auto ? { strategy: 'auto' as const, advice: { sampleSize: 1000, maxCuts: 2 } } : {}),
  };
}
