// Where the CLI finds the API and its key. The CLI is a client program, not the
// service: it reads its own environment here (the service reads process.env in
// apps/shared/config.ts only). Flags win over the environment, which wins over
// the quickstart key file that `npm start` writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Written by `npm start` (apps/shared/auth/quickstart-key.ts), relative to where it runs. */
export const QUICKSTART_KEY_FILE = '.data/api-key';
export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

export interface CliFlags {
  'api-url'?: string;
  'api-key'?: string;
  'key-file'?: string;
}

export interface CliConfig {
  baseUrl: string;
  apiKey?: string;
  /** Where the key came from, for error messages (never the key itself). */
  keySource: string;
}

function readKey(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function cliConfig(flags: CliFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CliConfig {
  const baseUrl = flags['api-url'] ?? env.FINETUNE_API_URL ?? DEFAULT_API_URL;
  if (flags['api-key']) return { baseUrl, apiKey: flags['api-key'], keySource: '--api-key' };
  if (env.FINETUNE_API_KEY) return { baseUrl, apiKey: env.FINETUNE_API_KEY, keySource: 'FINETUNE_API_KEY' };
  const file = path.resolve(cwd, flags['key-file'] ?? QUICKSTART_KEY_FILE);
  const key = readKey(file);
  return { baseUrl, apiKey: key, keySource: key ? file : 'none (set FINETUNE_API_KEY, --api-key, or run `npm start` once for .data/api-key)' };
}
