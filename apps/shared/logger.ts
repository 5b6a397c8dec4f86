import pino, { type LoggerOptions } from 'pino';
import type { Config } from './config.ts';

// Credentials can show up in connection strings, headers, job rows and config;
// never log them. Paths cover the objects the code logs whole (req, config, a
// job row or body); messages are scrubbed below for what a library quotes.
const REDACT = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'config.auth.adminApiKey',
  'config.auth.urlSigningSecret',
  'config.s3.secretAccessKey',
  'config.s3.accessKeyId',
  'config.databaseUrl',
  'config.redisUrl',
  'secretAccessKey',
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  'webhookSecret',
  '*.webhookSecret',
  '*.*.webhookSecret',
  'webhook.secret',
  '*.webhook.secret',
  'apiKey',
  '*.apiKey',
  'adminApiKey',
  'urlSigningSecret',
];

const CENSOR = '[redacted]';

/**
 * What a library may quote in an error message: a Prisma error prints the
 * arguments of the failed query (a job's webhookSecret among them), an HTTP
 * client the header it sent.
 */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\b(webhookSecret|secret|secretAccessKey|aws_secret_access_key|password|apiKey|adminApiKey|urlSigningSecret)(["']?\s*[:=]\s*)(["'])(?:\\.|(?!\3).)*\3/gi, `$1$2"${CENSOR}"`],
  [/\bBearer\s+[A-Za-z0-9._~+/-]+=*/g, `Bearer ${CENSOR}`],
  [/\bft_[A-Za-z0-9_-]{20,}/g, CENSOR],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, `$1${CENSOR}@`],
  // A signed model URL opens the model to whoever has it, until it expires.
  [/([?&]signature=)[^&#\s"]*/g, `$1${CENSOR}`],
];

export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, [re, by]) => t.replace(re, by), text);
}

function errSerializer(err: unknown) {
  const out: Record<string, unknown> = pino.stdSerializers.err(err as Error);
  if (!out || typeof out !== 'object') return out;
  for (const k of ['message', 'stack']) if (typeof out[k] === 'string') out[k] = scrubSecrets(out[k] as string);
  return out;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request fields, with the URL scrubbed (a signed URL's signature is a credential). */
function reqSerializer(req: LoggedRequest) {
  return { method: req.method, url: req.url === undefined ? undefined : scrubSecrets(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

export function loggerOptions(config: Config): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACT, censor: CENSOR },
    serializers: { err: errSerializer, error: errSerializer, req: reqSerializer },
    ...(config.logPretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

export function createLogger(config: Config, bindings: Record<string, unknown> = {}, stream?: pino.DestinationStream) {
  return (stream ? pino(loggerOptions(config), stream) : pino(loggerOptions(config))).child(bindings);
}

export type Logger = pino.Logger;
