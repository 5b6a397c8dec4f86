import { Type, type Static } from '@sinclair/typebox';
import { DatasetSourceSchema } from '../../../shared/data/dataset-source.ts';
import { Page, Timestamp } from './common.ts';
import { PlainText, Uuid } from '../../../shared/jobs/spec.ts';

export const CreateDatasetBody = Type.Object(
  {
    name: PlainText(200),
    source: DatasetSourceSchema,
  },
  { additionalProperties: false },
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
