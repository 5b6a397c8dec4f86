// POST /v1/advice and GET /v1/advice/:id: the request (shared/jobs/advice.ts)
// and the advice job as the API shows it.
import { Type, type Static } from '@sinclair/typebox';
import { AdviceBudgetSchema, AdviceSchema, CreateAdviceSchema } from '../../../shared/jobs/advice.ts';
import { JobStageSchema, JobStatusSchema } from '../../../shared/jobs/status.ts';
import { Uuid } from '../../../shared/jobs/uuid.ts';
import { EXAMPLE_ID } from './common.ts';

export const CreateAdviceBody = Type.Object(CreateAdviceSchema.properties, {
  additionalProperties: false,
  examples: [
    { baseModelId: EXAMPLE_ID, trainDatasetId: '5f1d2c3b-4a59-4e68-8f7a-9b0c1d2e3f40', budget: { sampleSize: 1000, maxCuts: 2 } },
  ],
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const AdviceResponseSchema = Type.Object(
  {
    id: Uuid,
    status: JobStatusSchema,
    stage: Nullable(JobStageSchema),
    baseModelId: Nullable(Uuid),
    trainDatasetId: Uuid,
    validationDatasetId: Nullable(Uuid),
    budget: AdviceBudgetSchema,
    advice: Nullable(AdviceSchema),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
    createdAt: Type.String({ format: 'date-time' }),
    finishedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'Advice' },
);
export type AdviceResponse = Static<typeof AdviceResponseSchema>;
