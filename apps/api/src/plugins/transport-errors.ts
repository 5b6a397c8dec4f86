// Errors raised before a request reaches a route: Fastify's router (a path that
// is not valid percent-encoding, a path parameter past maxParamLength) and
// Node's HTTP parser (an unknown method, control characters in a header,
// conflicting Content-Length and Transfer-Encoding, oversized headers, a
// request that does not arrive within REQUEST_TIMEOUT_MS). Each gets the one
// error shape with a catalogued code, and never echoes the request back.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../schemas/errors.ts';

interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

const ROUTER: Record<string, Refusal> = {
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_url', message: 'The path is not valid percent-encoded UTF-8' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'path_param_too_long', message: 'A path parameter is longer than 100 characters' },
};

/** Fastify's `frameworkErrors` option. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const refusal = ROUTER[err.code];
  if (!refusal) {
    req.log.error({ err }, 'router error');
    void reply.code(500).send({ error: { code: 'internal_error' satisfies ErrorCode, message: 'Internal Server Error' } });
    return;
  }
  void reply.code(refusal.status).header('x-request-id', req.id).send({ error: { code: refusal.code, message: refusal.message } });
}

/** What Node's parser (llhttp) found wrong, in words; its error codes name the fault. */
const PARSER_FAULTS: Array<[RegExp, string]> = [
  [/INVALID_METHOD/, 'unknown HTTP method'],
  [/INVALID_HEADER_TOKEN|INVALID_HEADER|LF_EXPECTED|CR_EXPECTED/, 'a header holds a character HTTP does not allow there'],
  [/UNEXPECTED_CONTENT_LENGTH|INVALID_CONTENT_LENGTH|INVALID_TRANSFER_ENCODING/, 'conflicting or invalid Content-Length / Transfer-Encoding'],
  [/INVALID_CHUNK_SIZE|STRICT/, 'a malformed chunked body'],
  [/INVALID_URL|INVALID_VERSION/, 'a malformed request line'],
];

function parserRefusal(err: NodeJS.ErrnoException): Refusal {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'request_timeout', message: 'The request did not arrive within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'headers_too_large', message: 'The request headers are larger than the server accepts (16 KiB)' };
  const fault = PARSER_FAULTS.find(([pattern]) => pattern.test(err.code ?? ''))?.[1] ?? 'it is not valid HTTP/1.1';
  return { status: 400, code: 'malformed_request', message: `The request cannot be parsed: ${fault}` };
}

/** Fastify's `clientErrorHandler` option: Node's 'clientError' event, on a socket no route will see. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A connection the client reset (or already gone) has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = parserRefusal(err);
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
