// One error shape for every response: {error:{code,message,details?}}.
// 4xx messages pass through; 5xx messages are logged, never sent.
import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';
import { AppError, TooManyRequestsError, type ErrorCode } from '../../../shared/errors.ts';
import { DependencyError } from '../../../shared/faults/dependency-error.ts';
import { asDependencyError } from './dependency-guard.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

// Prisma errors that mean the request, not the server, was wrong (often two requests racing).
interface Mapped {
  status: number;
  code: ErrorCode;
  message: string;
}

const PRISMA_CODES: Record<string, Mapped> = {
  P2025: { status: 404, code: 'not_found', message: 'The record does not exist (it may have just been deleted)' },
  P2003: { status: 422, code: 'reference_not_found', message: 'A record this request refers to does not exist' },
  P2002: { status: 409, code: 'conflict', message: 'A record with the same key already exists' },
  P2023: { status: 400, code: 'invalid_id', message: 'An id in the request is malformed' },
};

// Text Postgres cannot store (a NUL, in text or jsonb) that got past the schemas: still the request's fault.
const UNSTORABLE_TEXT: Mapped = { status: 400, code: 'invalid_text', message: 'The request holds text that cannot be stored (a NUL or other control character)' };

function prismaError(err: unknown): Mapped | undefined {
  const code = (err as { code?: unknown })?.code;
  if (!(err as Error)?.constructor?.name?.startsWith('PrismaClient')) return undefined;
  const pg = JSON.stringify((err as { meta?: unknown }).meta ?? {}) + String((err as Error).message);
  if (/\b(22021|22P05)\b|invalid byte sequence|unsupported Unicode escape/.test(pg)) return UNSTORABLE_TEXT;
  return typeof code === 'string' ? PRISMA_CODES[code] : undefined;
}

/** The one error shape, with a code the catalogue documents. */
const errorBody = (code: ErrorCode, message: string, details?: unknown) => ({ error: { code, message, ...(details === undefined ? {} : { details }) } });

export default fp(
  async (app) => {
    app.setErrorHandler((raw: FastifyError, req, reply) => {
      // Postgres unreachable or restarting: 503 dependency_unavailable, not 500.
      const err = (asDependencyError(raw) ?? raw) as FastifyError | AppError;
      if (err instanceof AppError) {
        if (err.statusCode >= 500) req.log.error({ err: raw }, 'dependency failure');
        if (err instanceof TooManyRequestsError || err instanceof DependencyError) reply.header('retry-after', String(err.retryAfterSeconds));
        if (err instanceof DependencyError) {
          // Which dependency is no secret (/readyz says it too); the driver's message stays in the log.
          return reply.status(503).send({ error: { code: err.code, message: `${err.dependency} is unavailable; try again after Retry-After seconds`, details: { dependency: err.dependency } } });
        }
        const message = err.statusCode < 500 ? err.message : err.retryable ? 'A backing service is unavailable; try again' : 'The server cannot answer this request; the cause is logged';
        return reply.status(err.statusCode).send(errorBody(err.code, message, err.details && err.statusCode < 500 ? err.details : undefined));
      }
      if (err.validation) {
        const details = err.validation.map((v) => ({ path: v.instancePath, message: v.message, params: v.params }));
        return reply.status(400).send(errorBody('validation_failed', `Invalid ${err.validationContext ?? 'request'}: ${err.message}`, details));
      }
      const prisma = prismaError(err);
      if (prisma) return reply.status(prisma.status).send(errorBody(prisma.code, prisma.message));
      const status = err.statusCode ?? 500;
      if (status < 500) {
        const code = FASTIFY_CODES[err.code] ?? (err instanceof SyntaxError ? 'invalid_json' : 'bad_request');
        return reply.status(status).send(errorBody(code, err.message));
      }
      req.log.error({ err }, 'unhandled error');
      return reply.status(500).send(errorBody('internal_error', 'Internal Server Error'));
    });
    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send(errorBody('route_not_found', `No route for ${req.method} ${req.url.split('?')[0]}`)),
    );
  },
  { name: 'errors' },
);
