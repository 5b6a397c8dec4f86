// `npm start` on a fresh machine: the default tenant gets an API key, kept in
// a file readable only by its owner (never logged), which `npm run demo` and
// curl read. A key that was revoked or lost is replaced.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/prisma.ts';
import { hashKey, newApiKey } from './api-keys.ts';

export const QUICKSTART_KEY_FILE = '.data/api-key';
/** Created by the tenants migration; rows from before tenants existed belong to it. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000000';

export async function readQuickstartKey(file = QUICKSTART_KEY_FILE): Promise<string | undefined> {
  return (await readFile(file, 'utf8').catch(() => undefined))?.trim() || undefined;
}

export async function ensureQuickstartKey(db: Db, file = QUICKSTART_KEY_FILE): Promise<string> {
  const existing = await readQuickstartKey(file);
  if (existing) {
    const row = await db.apiKey.findUnique({ where: { hash: hashKey(existing) } });
    if (row && !row.revokedAt) return existing;
  }
  await db.tenant.upsert({ where: { id: DEFAULT_TENANT_ID }, create: { id: DEFAULT_TENANT_ID, name: 'default' }, update: {} });
  const fresh = newApiKey();
  await db.apiKey.create({ data: { id: randomUUID(), tenantId: DEFAULT_TENANT_ID, name: 'quickstart', prefix: fresh.prefix, hash: fresh.hash } });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${fresh.key}\n`, { mode: 0o600 });
  return fresh.key;
}
