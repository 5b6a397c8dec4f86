import { Type, type Static, type TSchema } from '@sinclair/typebox';
export { errorResponses } from './errors.ts';
import { Uuid } from '../../../shared/jobs/spec.ts';

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable, machine-readable error code' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
);

/** The id every example in the document uses. */
export const EXAMPLE_ID = '0b6c8f3e-5d7a-4e2b-9c1f-3a8d2e4f6b10';

export const IdParams = Type.Object({ id: Type.String({ ...Uuid, examples: [EXAMPLE_ID] }) });
export type IdParams = Static<typeof IdParams>;

/**
 * A list's `limit`. The bound is configuration (MAX_PAGE_SIZE, MAX_EVENT_PAGE_SIZE), so it is
 * checked by the route (`checkPageSize`), which can answer with the setting's name; the schema
 * documents the bound the running service was built with.
 */
export const PageLimit = (max: number, setting: string, fallback = 20) =>
  Type.Integer({ minimum: 1, default: Math.min(fallback, max), description: `Items per page: 1 to ${max} (${setting}); more is 400 page_size_exceeded` });

export const pageQuery = (maxPageSize: number) =>
  Type.Object(
    {
      limit: PageLimit(maxPageSize, 'MAX_PAGE_SIZE'),
      after: Type.Optional(Type.String({ maxLength: 200, description: 'Cursor from a previous page (nextCursor)' })),
    },
    { additionalProperties: false },
  );
export type PageQuery = Static<ReturnType<typeof pageQuery>>;

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    hasMore: Type.Boolean(),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
    skipped: Type.Optional(Type.Array(Type.String(), {
      description: 'Ids of rows on this page left out because the stored record no longer fits its schema (logged as an error); absent when none',
    })),
  });

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
