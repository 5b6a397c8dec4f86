import { Type } from '@sinclair/typebox';
import { Uuid } from '../../../shared/jobs/spec.ts';
import { NullableTimestamp, Timestamp } from './common.ts';

export const TenantSchema = Type.Object({ id: Uuid, name: Type.String(), createdAt: Timestamp });
export const CreateTenantBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\x00-\\x1f\\x7f]+$' }) },
  { additionalProperties: false, examples: [{ name: 'acme' }] },
);
export const TenantList = Type.Object({ data: Type.Array(TenantSchema) });

export const ApiKeySchema = Type.Object(
  {
  id: Uuid,
  tenantId: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
  createdAt: Timestamp,
  lastUsedAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
  },
  { $id: 'ApiKey' },
);
export const CreatedApiKey = Type.Composite([ApiKeySchema, Type.Object({ key: Type.String({ description: 'Shown once: only its hash is stored' }) })]);
export const CreateKeyBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\x00-\\x1f\\x7f]+$' })) },
  { additionalProperties: false, examples: [{ name: 'ci' }] },
);
export const ApiKeyList = Type.Object({ data: Type.Array(ApiKeySchema) });
