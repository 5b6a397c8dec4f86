// The entries of list settings, checked and normalised once at startup, so that
// the code that matches against them compares plain strings.
import { ConfigError, type ListItemKind } from './setting.ts';

export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `host`, `host:port` or `*.domain[:port]`, normalised as WHATWG URL normalises a URL's host
 * (case, IDN, IPv4 spellings, IPv6 compression).
 */
function hostEntry(name: string, entry: string): string {
  const m = /^(\*\.)?([^:/?#@\\\s[\]*]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/.exec(entry);
  let host: string | undefined;
  try {
    if (m) host = new URL(`http://${m[2]}/`).hostname.replace(/\.$/, '');
  } catch {
    // Reported below.
  }
  if (!m || !host || (m[3] !== undefined && Number(m[3]) > 65535)) {
    throw new ConfigError(`${name}: "${entry}" is not a hostname, host:port or *.domain`);
  }
  return `${m[1] ?? ''}${host}${m[3] !== undefined ? `:${Number(m[3])}` : ''}`;
}

/** An exact origin (scheme://host[:port]), as browsers send it in the Origin header. */
function originEntry(name: string, entry: string): string {
  let origin: string | undefined;
  try {
    const u = new URL(entry);
    const bare = u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password;
    if ((u.protocol === 'https:' || u.protocol === 'http:') && bare) origin = u.origin;
  } catch {
    // Reported below.
  }
  if (!origin) throw new ConfigError(`${name}: "${entry}" is not an origin such as https://app.example.com`);
  return origin;
}

function bucketEntry(name: string, entry: string): string {
  if (!BUCKET_NAME.test(entry)) throw new ConfigError(`${name}: "${entry}" is not a valid bucket name`);
  return entry;
}

export function listItem(kind: ListItemKind, name: string, entry: string): string {
  if (kind === 'host') return hostEntry(name, entry);
  if (kind === 'origin') return originEntry(name, entry);
  return bucketEntry(name, entry);
}
