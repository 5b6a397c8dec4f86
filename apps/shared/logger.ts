import pino, { type LoggerOptions } from 'pino';
import type { Config } from './config.ts';

// Credentials can show up in connection strings and headers; never log them.
const REDACT = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'config.auth.adminApiKey',
  'config.auth.urlSigningSecret',
  '*.webhookSecret',
  'webhook.secret',
  'body.webhook.secret',
  'req.headers.cookie',
  'config.s3.secretAccessKey',
  'config.databaseUrl',
  'config.redisUrl',
];

export function loggerOptions(config: Config): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(config.logPretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
}

export function createLogger(config: Config, bindings: Record<string, unknown> = {}) {
  return pino(loggerOptions(config)).child(bindings);
}

export type Logger = pino.Logger;
