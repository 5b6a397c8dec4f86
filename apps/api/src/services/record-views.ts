// What a stored row looks like to a client must fit the documented response
// schema: fast-json-stringify refuses a reply that does not, with a 500, and a
// row like that would then break every read of it (and every list it is on).
// Summaries derived from user files are checked before they are stored, and
// rows read back are checked before they are sent.
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, UnprocessableError } from '../../../shared/errors.ts';

// TypeBox checks formats only through its registry; these are the formats our response schemas use.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)));

export interface ViewCheck<T extends TSchema> {
  /** The first place `view` departs from the schema (`/inputShape/1: Expected integer`), or undefined when it fits. */
  fault(view: unknown): string | undefined;
  /** Before anything is stored: a summary that would not serialise is the upload's fault, 422 summary_invalid. */
  assertStorable(view: unknown): asserts view is Static<T>;
}

export function viewCheck<T extends TSchema>(schema: T): ViewCheck<T> {
  const compiled = TypeCompiler.Compile(schema);
  const fault = (view: unknown) => {
    if (compiled.Check(view)) return undefined;
    const e = compiled.Errors(view).First();
    return e ? `${e.path || '/'}: ${e.message}` : 'does not fit the schema';
  };
  return {
    fault,
    assertStorable(view: unknown): asserts view is Static<T> {
      const f = fault(view);
      if (f) throw new UnprocessableError('summary_invalid', `What the service derived from the files does not fit its documented response (${f}); nothing was stored`, { fault: f });
    },
  };
}

/** A stored row that no longer fits its schema: a server fault, logged; its id says which. */
export class StoredRecordError extends AppError {
  constructor(resource: string, id: string) {
    super('stored_record_invalid', `The stored ${resource} ${id} cannot be shown: it does not fit its schema`, 500, { id });
  }
}
