// Tells a dependency fault (Postgres or S3 unreachable, restarting, throttling)
// from everything else, by the errors' types and codes (one coded-less pg error excepted).
import { S3ServiceException } from '@aws-sdk/client-s3';
import { DependencyError, type Dependency } from './dependency-error.ts';

/** SQLSTATEs of a server that is going away, starting up, or a connection lost (class 08). */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '08007']);
/** Prisma's own codes for a database it cannot reach or lost (P1xxx), or a pool it waited on too long. */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** The driver adapter's kinds for the same (Prisma 7 with @prisma/adapter-pg). */
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** Node's socket errors: the peer is not there, or went away. */
const SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_SOCKET_CLOSED']);
/** S3's throttling answers (some come with a 400 or 403). */
const S3_THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'RequestThrottled', 'ServiceUnavailable', 'InternalError', 'RequestTimeout']);
/** Errors from the SDK's HTTP layer when no response came back. */
const S3_TRANSPORT = new Set(['TimeoutError', 'RequestTimeout', 'AbortError']);

/**
 * pg's error for a query on a connection it has already seen fail (a terminated
 * backend whose notice arrived first). pg gives it no code, so this one error is
 * known by its exact text; everything else here goes by type and code.
 */
const PG_NOT_QUERYABLE = 'Client has encountered a connection error and is not queryable';

type Shape = { code?: unknown; name?: unknown; cause?: unknown; meta?: unknown; errors?: unknown; $metadata?: { httpStatusCode?: number } };

/** The error, and those it wraps (cause, AggregateError's errors, Prisma's driver adapter error). */
function* chain(err: unknown, depth = 0): Generator<Shape> {
  if (!err || typeof err !== 'object' || depth > 6) return;
  const e = err as Shape;
  yield e;
  yield* chain(e.cause, depth + 1);
  const adapter = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  if (adapter) yield* chain(adapter, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
}

const isSocket = (e: Shape) => typeof e.code === 'string' && SOCKET.has(e.code);

function isPrisma(err: unknown): boolean {
  const name = (err as Error)?.constructor?.name ?? '';
  return name.startsWith('PrismaClient') || name === 'DriverAdapterError';
}

/** 'postgres' when a Prisma or pg error says the database is unreachable or restarting. */
export function postgresFault(err: unknown): boolean {
  for (const e of chain(err)) {
    if (typeof e.code === 'string' && (PG_UNAVAILABLE.has(e.code) || PRISMA_UNAVAILABLE.has(e.code))) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (typeof kind === 'string' && ADAPTER_UNAVAILABLE.has(kind)) return true;
    if (kind === 'postgres' && PG_UNAVAILABLE.has(String(e.code))) return true;
    if ((e as { message?: unknown }).message === PG_NOT_QUERYABLE) return true;
  }
  return isPrisma(err) && [...chain(err)].some(isSocket);
}

/** An S3 request that got no answer, a 5xx, or throttling. */
export function s3Fault(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    return status >= 500 || status === 429 || S3_THROTTLING.has(err.name);
  }
  for (const e of chain(err)) {
    if (isSocket(e)) return true;
    if (typeof e.name === 'string' && S3_TRANSPORT.has(e.name)) return true;
  }
  return false;
}

/** Which dependency an error says is down, if any. Errors already typed say so themselves. */
export function dependencyFault(err: unknown): Dependency | undefined {
  if (err instanceof DependencyError) return err.dependency;
  if (isPrisma(err) || postgresFault(err)) return postgresFault(err) ? 'postgres' : undefined;
  return undefined;
}
