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

export const DatasetSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    source: Type.Record(Type.String(), Type.Unknown()),
    featureShape: Type.Array(Type.Integer()),
    numExamples: Type.Integer(),
    numClasses: Type.Integer(),
    labels: Type.Array(Type.String()),
    classCounts: Type.Array(Type.Object({ label: Type.String(), count: Type.Integer() }), { description: 'Examples per label, in label order' }),
    createdAt: Timestamp,
  },
  { $id: 'Dataset' },
);
export type DatasetResponse = Static<typeof DatasetSchema>;

export const DatasetPage = Page(Type.Ref('Dataset'));
