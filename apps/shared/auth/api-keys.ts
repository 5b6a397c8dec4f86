// API keys: random, shown once, stored only as SHA-256. A key's prefix (not
// secret) lets people tell keys apart in lists and logs.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'ft_';

export interface NewKey {
  key: string;
  hash: string;
  prefix: string;
}

export function newApiKey(): NewKey {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashKey(key), prefix: key.slice(0, 10) };
}

/** Keys carry 256 random bits, so one fast hash suffices: no dictionary to slow down. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(hashKey(a), 'hex'), Buffer.from(hashKey(b), 'hex')];
  return timingSafeEqual(x, y);
}

/** `Authorization: Bearer <key>` → the key, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header ?? '');
  return m?.[1];
}
