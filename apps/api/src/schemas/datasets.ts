import { Type, type Static } from '@sinclair/typebox';
import { DatasetSourceSchema } from '../../../shared/data/dataset-source.ts';
import { Page, Timestamp } from './common.ts';
import { PlainText, Uuid } from '../../../shared/jobs/spec.ts';

export const CreateDatasetBody = Type.Object(
  {
    name: PlainText(200),
    source: DatasetSourceSchema,
  },
  {
    additionalProperties: false,
    examples: [
      { name: 'digits 0-4', source: { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 5000 } },
      { name: 'iris', source: { type: 's3', uri: 's3://finetune/uploads/6f1c0a4e-1b2d-4c3e-8f9a-0b1c2d3e4f5a/iris.csv', format: 'csv', labelColumn: 'species' } },
    ],
  },
);
export type CreateDatasetBody = Static<typeof CreateDatasetBody>;

export const DATASET_STATUSES = ['validating', 'ready', 'failed', 'cancelled'] as const;
const ClassCounts = Type.Array(Type.Object({ label: Type.String(), count: Type.Integer() }));

export const DatasetProgressSchema = Type.Object(
  {
    phase: Type.Union([Type.Literal('listing'), Type.Literal('decoding'), Type.Literal('finishing')]),
    objectsTotal: Type.Union([Type.Integer(), Type.Null()], { description: 'null while the source is being listed' }),
    objectsDone: Type.Integer(),
    bytesRead: Type.Integer(),
    bytesTotal: Type.Optional(Type.Integer({ description: "A CSV/NDJSON file's size (its registration reads one object)" })),
    classCounts: Type.Array(Type.Object({ label: Type.String(), count: Type.Integer() }), { description: 'Images decoded (or rows checked) so far, per label' }),
  },
  { description: "A background registration's progress: objects (or a file's bytes) read and checked so far" },
);
export type DatasetProgress = Static<typeof DatasetProgressSchema>;

export const DatasetErrorSchema = Type.Object(
  {
    code: Type.String(),
    status: Type.Integer({ description: 'The HTTP status a synchronous registration would have answered with' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'Why the registration failed or was cancelled; the message names the object' },
);

export const DatasetSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    source: Type.Record(Type.String(), Type.Unknown()),
    featureShape: Type.Array(Type.Integer()),
    numExamples: Type.Integer(),
    numClasses: Type.Integer(),
    labels: Type.Array(Type.String()),
    classCounts: Type.Array(ClassCounts.items, { description: 'Examples per label, in label order (empty until ready)' }),
    status: Type.Union(DATASET_STATUSES.map((s) => Type.Literal(s)), {
      description: 'validating: an image source is being read in the background (202); ready: jobs may use it; failed/cancelled: nothing was kept but this record',
    }),
    progress: Type.Union([DatasetProgressSchema, Type.Null()]),
    error: Type.Union([DatasetErrorSchema, Type.Null()]),
    createdAt: Timestamp,
  },
  { $id: 'Dataset' },
);
export type DatasetResponse = Static<typeof DatasetSchema>;

export const DatasetPage = Page(Type.Ref('Dataset'));
