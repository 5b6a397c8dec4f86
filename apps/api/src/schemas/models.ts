import { Type, type Static } from '@sinclair/typebox';
import { EXAMPLE_ID, Page, Timestamp } from './common.ts';
import { PlainText, Uuid } from '../../../shared/jobs/spec.ts';
import { MODEL_FORMATS } from '../../../shared/ml/model-format.ts';

export const RegisterModelBody = Type.Object(
  {
    name: PlainText(200),
    uri: Type.String({
      pattern: '^s3://[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]+/(model\\.json|[^/]+\\.(keras|h5|hdf5))$',
      maxLength: 1024,
      description: 's3://bucket/prefix/model.json of a TensorFlow.js LayersModel or Graph model, or s3://bucket/prefix/NAME.keras (Keras 3) or NAME.h5 (legacy Keras): in S3_BUCKET, under your upload area uploads/<tenantId>/ (POST /v1/uploads)',
    }),
    format: Type.Optional(Type.Union([Type.Literal('layers-model'), Type.Literal('graph-model'), Type.Literal('keras'), Type.Literal('h5')], {
      description: "What the file is; by default model.json is whichever TensorFlow.js model its own `format` says (a LayersModel, or a Graph model: a frozen base) and anything else a Keras file whose kind (.keras zip or .h5 HDF5) is read from its content. A stated layers-model or graph-model that model.json is not: 422 model_invalid, details.fault format_mismatch",
    })),
    labels: Type.Optional(Type.Array(PlainText(100), { maxItems: 10_000 })),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'my-base', uri: 's3://finetune/uploads/6f1c0a4e-1b2d-4c3e-8f9a-0b1c2d3e4f5a/my-base/model.json', labels: ['cat', 'dog', 'bird'] }],
  },
);
export type RegisterModelBody = Static<typeof RegisterModelBody>;

const Shape = Type.Array(Type.Union([Type.Integer(), Type.Null()]));

export const ModelSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    kind: Type.Union([Type.Literal('base'), Type.Literal('fine_tuned')]),
    format: Type.Union(MODEL_FORMATS.map((f) => Type.Literal(f)), {
      description: 'layers-model; graph-model (a TensorFlow.js Graph model: a frozen base, its layers are graph nodes); graph-head (fine-tuned on a Graph model: model.json is the head, files.base the graph it reads from)',
    }),
    sourceUri: Type.Union([Type.String(), Type.Null()]),
    inputShape: Shape,
    outputShape: Shape,
    labels: Type.Array(Type.String()),
    layers: Type.Array(
      Type.Object({
        name: Type.String(),
        className: Type.String(),
        trainable: Type.Boolean(),
        params: Type.Integer(),
        outputShape: Type.Unknown(),
      }),
    ),
    totalParams: Type.Integer(),
    trainableParams: Type.Integer(),
    lineage: Type.Object({
      parentModelId: Type.Union([Type.String(), Type.Null()]),
      jobId: Type.Union([Type.String(), Type.Null()]),
    }),
    files: Type.Object({
      modelJson: Type.String(),
      weights: Type.Array(Type.String()),
      base: Type.Optional(
        Type.Object(
          { modelJson: Type.String(), weights: Type.Array(Type.String()), outputNode: Type.String({ description: 'the graph node whose output the head takes' }) },
          { description: 'graph-head only: the base graph (tf.loadGraphModel), run up to outputNode, feeds the head (tf.loadLayersModel of modelJson)' },
        ),
      ),
    }),
    createdAt: Timestamp,
  },
  { $id: 'Model' },
);
export type ModelResponse = Static<typeof ModelSchema>;

export const ModelPage = Page(Type.Ref('Model'));

export const ModelFileParams = Type.Object({
  id: Type.String({ ...Uuid, examples: [EXAMPLE_ID] }),
  file: Type.Union([Type.Literal('model.json'), Type.Literal('weights.bin'), Type.Literal('model.keras')], { examples: ['model.json'] }),
});
export type ModelFileParams = Static<typeof ModelFileParams>;

/** A graph-head's base graph (GET /v1/models/:id/base/:file). */
export const GraphBaseFileParams = Type.Object({
  id: Type.String({ ...Uuid, examples: [EXAMPLE_ID] }),
  file: Type.Union([Type.Literal('model.json'), Type.Literal('weights.bin')], { examples: ['model.json'] }),
});

/** model.json as tfjs reads it; the service rewrites the manifest to one weights.bin. */
export const ModelJsonFile = Type.Object(
  {
    modelTopology: Type.Record(Type.String(), Type.Unknown()),
    weightsManifest: Type.Array(Type.Object({ paths: Type.Array(Type.String()), weights: Type.Array(Type.Record(Type.String(), Type.Unknown())) }, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

/** The 200 of a route that serves model.json or weights.bin (a model's or a checkpoint's). */
export const ModelFileResponse = {
  description: 'model.json (JSON), weights.bin (bytes) or model.keras (a Keras 3 .keras zip)',
  content: {
    'application/json': { schema: ModelJsonFile },
    'application/octet-stream': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
  },
};

export const SignedUrlQuery = Type.Object(
  {
    expires: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$', description: 'Unix seconds; from POST /v1/models/:id/download-url' })),
    signature: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type SignedUrlQuery = Static<typeof SignedUrlQuery>;

export const SignedUrlResponse = Type.Object({
  url: Type.String({ description: 'Path of model.json with its signature; valid until expiresAt, for this model only' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
