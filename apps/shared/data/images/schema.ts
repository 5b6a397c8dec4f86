// The image dataset source as a request names it, and as it is stored once registered.
import { Type, type Static } from '@sinclair/typebox';
import { PLAIN_TEXT, PlainText } from '../../jobs/spec.ts';

/** Each side of the prepared image; 512×512×3 float32 is 3 MiB an example. */
export const MAX_IMAGE_SIDE = 512;

export const ImagePreprocessSchema = Type.Object(
  {
    // An array of two, not a tuple: OpenAPI 3.1 (JSON Schema 2020-12) has no array-form `items`.
    size: Type.Array(Type.Integer({ minimum: 1, maximum: MAX_IMAGE_SIDE }), { minItems: 2, maxItems: 2, description: '[height, width] of the prepared image' }),
    resize: Type.Optional(Type.Union([Type.Literal('stretch'), Type.Literal('centerCrop'), Type.Literal('pad')], { description: 'default stretch; pad fills with black' })),
    channels: Type.Optional(Type.Union([Type.Literal('rgb'), Type.Literal('grayscale')], { description: 'default rgb; alpha is flattened onto black' })),
    scaling: Type.Optional(
      Type.Union([Type.Literal('unit'), Type.Literal('symmetric'), Type.Literal('caffe'), Type.Literal('torch'), Type.Literal('raw')], {
        description: 'default unit [0,1]; symmetric [-1,1] (MobileNet); caffe BGR minus ImageNet means; torch ImageNet mean/std; raw 0-255',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ImagesSourceSchema = Type.Object(
  {
    type: Type.Literal('images'),
    uri: PlainText(1024, {
      minLength: 6,
      pattern: PLAIN_TEXT.replace('^', '^s3://'),
      description: 'folders: s3://bucket/prefix/ with one folder per class; manifest: s3://bucket/key of a CSV or JSONL file of uri,label[,split]',
    }),
    layout: Type.Union([Type.Literal('folders'), Type.Literal('manifest')]),
    /** Manifests only; default from the key's extension (.csv, else JSONL). */
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl')])),
    /** Manifests only: keep the rows of this split (the manifest's `split` column). */
    split: Type.Optional(Type.Union([Type.Literal('train'), Type.Literal('validation'), Type.Literal('test')])),
    preprocess: ImagePreprocessSchema,
  },
  { additionalProperties: false },
);

export type ImagesSource = Static<typeof ImagesSourceSchema>;
export type ImagePreprocess = Required<Static<typeof ImagePreprocessSchema>>;
export type Scaling = ImagePreprocess['scaling'];

export function withPreprocessDefaults(p: Static<typeof ImagePreprocessSchema>): ImagePreprocess {
  return { size: p.size, resize: p.resize ?? 'stretch', channels: p.channels ?? 'rgb', scaling: p.scaling ?? 'unit' };
}

const SizeBinSchema = Type.Object({
  /** Longest side at most this many pixels (the last bin: any). */
  upTo: Type.Union([Type.Integer(), Type.Null()]),
  count: Type.Integer(),
});
export type SizeBin = Static<typeof SizeBinSchema>;

const ThumbnailSchema = Type.Object({
  label: Type.String(),
  /** In our bucket: a small PNG of the first image of the label. */
  key: Type.String(),
});
export type Thumbnail = Static<typeof ThumbnailSchema>;

/** What the worker reads: the prepared pixels in shards, labels in the index (the Dataset row's source column). */
export const StoredImagesSourceSchema = Type.Object({
  ...ImagesSourceSchema.properties,
  preprocess: Type.Object({
    size: ImagePreprocessSchema.properties.size,
    resize: Type.Union([Type.Literal('stretch'), Type.Literal('centerCrop'), Type.Literal('pad')]),
    channels: Type.Union([Type.Literal('rgb'), Type.Literal('grayscale')]),
    scaling: Type.Union([Type.Literal('unit'), Type.Literal('symmetric'), Type.Literal('caffe'), Type.Literal('torch'), Type.Literal('raw')]),
  }),
  /** datasets/<id>/: index.json and shard-NNNNN.u8 files of uint8 HWC pixels. */
  prefix: Type.String(),
  shardSize: Type.Integer(),
  numShards: Type.Integer(),
  sizeHistogram: Type.Array(SizeBinSchema),
  thumbnails: Type.Array(ThumbnailSchema),
  /** Examples per split value of a manifest, when it has a split column. */
  splitCounts: Type.Optional(Type.Record(Type.String(), Type.Integer())),
});
export type StoredImagesSource = Static<typeof StoredImagesSourceSchema>;

/** index.json: the label of each example, as an index into `labels`, in storage order. */
export interface ImageIndex {
  labels: string[];
  classes: number[];
  /** sha256 of each shard's bytes with the preprocessing: what a feature cache keys on. */
  shardDigests: string[];
}
