// The one place JSON read from Postgres becomes a typed value: each column is
// checked against its schema, and a row that does not fit fails loudly, with
// the column, the row and the first fault, instead of travelling on as a lie.
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { AppError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { JobSpecSchema } from './spec.ts';
import { AutoRecordSchema } from './advice.ts';
import { EvaluationSchema } from './evaluation.ts';
import { BestCheckpointSchema, EpochMetricSchema, LayerSummariesSchema, ResumePointSchema, ShapeSchema, StoredSourceSchema, WebhookAttemptSchema } from './columns.ts';
import { JobEventPayloads, type JobEventType, type TypedJobEvent } from './events.ts';
import { DeliveryStatusSchema, InterruptRequestSchema } from './status.ts';

// TypeBox checks formats only through its registry.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)));

/** A stored JSON value that does not fit its schema: a server fault, never retried. */
export class StoredJsonError extends AppError {
  constructor(
    readonly column: string,
    readonly rowId: string,
    readonly fault: string,
  ) {
    super('stored_record_invalid', `The stored ${column} of ${rowId} does not fit its schema (${fault})`, 500, { id: rowId, column, fault });
  }
}

export interface Decoder<T extends TSchema> {
  (value: unknown, rowId: string): Static<T>;
  /** For nullable columns: null stays null. */
  nullable(value: unknown, rowId: string): Static<T> | null;
  readonly schema: T;
}

/** Values already checked and then deep-frozen (see checkedOnce): frozen, so still what was checked. */
const CHECKED = new WeakMap<object, TSchema>();

/** Freezes every level, also below an object someone froze shallowly (so isFrozen cannot stop the walk). */
function deepFreeze<V>(value: V, seen = new WeakSet<object>()): V {
  if (value !== null && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v, seen);
  }
  return value;
}

export function decoder<T extends TSchema>(column: string, schema: T): Decoder<T> {
  let compiled: TypeCheck<T> | undefined;
  const decode = (value: unknown, rowId: string): Static<T> => {
    if (value !== null && typeof value === 'object' && CHECKED.get(value) === schema) return value as Static<T>;
    compiled ??= TypeCompiler.Compile(schema);
    if (compiled.Check(value)) return value;
    const e = compiled.Errors(value).First();
    throw new StoredJsonError(column, rowId, e ? `${e.path || '/'}: ${e.message}` : 'does not fit');
  };
  return Object.assign(decode, { nullable: (value: unknown, rowId: string) => (value === null || value === undefined ? null : decode(value, rowId)), schema });
}

/**
 * Decodes `value` and deep-freezes it, so that decoding the same object again (a cached value
 * served many times) costs a lookup instead of a schema check; freezing keeps it what was checked.
 */
export function checkedOnce<T extends TSchema>(d: Decoder<T>, value: unknown, rowId: string): Static<T> {
  const decoded = deepFreeze(d(value, rowId));
  if (decoded !== null && typeof decoded === 'object') CHECKED.set(decoded, d.schema);
  return decoded;
}

export const decodeSpec = decoder('job spec', JobSpecSchema);
export const decodeEvaluation = decoder('job evaluation', EvaluationSchema);
export const decodeBestCheckpoint = decoder('job bestCheckpoint', BestCheckpointSchema);
export const decodeAutoRecord = decoder('job auto record', AutoRecordSchema);
export const decodeLatestMetrics = decoder('job latestMetrics', EpochMetricSchema);
export const decodeResumePoint = decoder('job resumePoint', ResumePointSchema);
export const decodeInterruptRequest = decoder('job interruptRequest', InterruptRequestSchema);
export const decodeSource = decoder('dataset source', StoredSourceSchema);
export const decodeLayers = decoder('model layers', LayerSummariesSchema);
export const decodeShape = decoder('model shape', ShapeSchema);
export const decodeDeliveryStatus = decoder('webhook delivery status', DeliveryStatusSchema);
export const decodeAttemptLog = decoder('webhook delivery attemptLog', Type.Array(WebhookAttemptSchema));

const eventDecoders = Object.fromEntries(Object.entries(JobEventPayloads).map(([type, schema]) => [type, decoder(`${type} event`, schema)])) as {
  [K in JobEventType]: Decoder<(typeof JobEventPayloads)[K]>;
};

/** A job event row as the API serves it: its type one of JobEventType, its data fitting that type's payload. */
export function decodeJobEvent(row: { id: bigint; type: string; data: unknown; createdAt: Date }): TypedJobEvent {
  const id = row.id.toString();
  if (!(row.type in eventDecoders)) throw new StoredJsonError('event type', id, `unknown type ${row.type}`);
  const type = row.type as JobEventType;
  return { id, type, data: eventDecoders[type](row.data, id), createdAt: row.createdAt.toISOString() } as TypedJobEvent;
}

/**
 * What goes into a JSON column: a value typed by its schema. Prisma's JSON input
 * type cannot express "this TypeBox type", so the one cast lives here.
 */
export function toJson<T extends TSchema>(_schema: Decoder<T>, value: Static<T>): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

/**
 * A column read into a response view that is checked as a whole against its
 * schema before it is sent (api/src/services/record-views.ts): a row that does
 * not fit is skipped or refused there, naming the row, so this does not check twice.
 */
export function forView<T extends TSchema>(_schema: Decoder<T>, value: Prisma.JsonValue): Static<T> {
  return value as Static<T>;
}
