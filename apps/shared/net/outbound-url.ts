// Guards what the service reads or calls on a caller's behalf (OWASP API7,
// server-side request forgery). A webhook URL is checked when the job is
// submitted, then again just before each delivery against what DNS says at that
// moment, and the delivery connects to exactly the addresses that were checked,
// so a name that is re-pointed at an internal address in between (DNS
// rebinding) gains nothing. S3 sources are confined to buckets the operator
// listed, so a registration cannot make the service read, with its own
// credentials, a bucket the caller could not; in the service's own bucket, to
// the caller's upload area, so that nobody registers another tenant's model,
// checkpoint or dataset by its key.
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Config } from '../config.ts';
import { BadRequestError, UnprocessableError } from '../errors.ts';
import { parseS3Uri, type S3Location } from '../storage/s3-storage.ts';
import { uploadPrefix } from '../storage/upload-area.ts';
import { blockedRange } from './blocked-ranges.ts';

// ---------------------------------------------------------------- S3 sources

/**
 * Parses an s3:// source and refuses any bucket but ours and the S3_SOURCE_BUCKETS, and any key
 * in ours outside the tenant's upload area. Decided from the URI alone, before any S3 request:
 * the answer says nothing about whether an object is there.
 */
export function checkS3Source(uri: string, s3: Pick<Config['s3'], 'bucket' | 'sourceBuckets'>, tenantId: string): S3Location {
  const loc = parseS3Uri(uri);
  // parseS3Uri refuses "." and ".." segments; a backslash is a separator to some
  // S3-compatible servers and proxies, and control characters end up in logs and paths.
  if (/[\\\u0000-\u001f\u007f]/.test(loc.key)) {
    throw new BadRequestError('invalid_s3_uri', 'S3 keys may not contain backslashes or control characters');
  }
  const allowed = [...new Set([s3.bucket, ...s3.sourceBuckets])];
  if (!allowed.includes(loc.bucket)) {
    throw new UnprocessableError('source_bucket_not_allowed', `Sources must be in ${allowed.length === 1 ? 'bucket' : 'one of the buckets'} ${allowed.join(', ')}`, {
      bucket: loc.bucket,
      allowed,
    });
  }
  const area = uploadPrefix(tenantId);
  if (loc.bucket === s3.bucket && !(loc.key.startsWith(area) && loc.key.length > area.length)) {
    const others = allowed.filter((b) => b !== s3.bucket).map((b) => `s3://${b}/`);
    throw new UnprocessableError('source_key_not_allowed', `In bucket ${s3.bucket}, sources must be in your upload area ${area} (POST /v1/uploads gives a URL to put a file there)`, {
      allowed: [`s3://${s3.bucket}/${area}`, ...others],
    });
  }
  return loc;
}

export { blockedRange };

// ---------------------------------------------------------------- URLs

/** The part of the config these checks read: OUTBOUND_ALLOWED_HOSTS, normalised by loadConfig. */
export type OutboundPolicy = Pick<Config['webhooks'], 'allowedHosts'>;

export type RefusalReason = 'invalid_url' | 'scheme_not_allowed' | 'userinfo_not_allowed' | 'host_not_allowed' | 'address_not_allowed';

export class OutboundUrlError extends UnprocessableError {
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, message: string, details: { url: string; [k: string]: unknown }) {
    super('outbound_url_not_allowed', message, { ...details, reason });
    this.reason = reason;
  }
}

/** The URL as errors and logs may show it: no credentials, query or fragment (they may hold secrets). */
function redact(url: string, parsed?: URL): string {
  if (parsed) return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/s, '').slice(0, 2048);
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '');
const withoutTrailingDot = (hostname: string) => hostname.replace(/\.$/, '');

/**
 * 'exact': the host (or host:port) is listed as it is; the operator vouches for it, private
 * addresses included. 'wildcard': only a *.domain entry covers it; its addresses must still be
 * public, because whoever controls a subdomain's DNS could point it anywhere.
 */
function allowListMatch(url: URL, policy: OutboundPolicy): 'exact' | 'wildcard' | undefined {
  const host = withoutTrailingDot(url.hostname);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  let match: 'wildcard' | undefined;
  for (const entry of policy.allowedHosts) {
    const m = /^(\*\.)?(.+?)(?::(\d+))?$/.exec(entry);
    if (!m || (m[3] !== undefined && m[3] !== port)) continue;
    if (!m[1] && m[2] === host) return 'exact';
    if (m[1] && !isIP(bare(host)) && host.endsWith(`.${m[2]}`)) match = 'wildcard';
  }
  return match;
}

interface Inspected {
  url: URL;
  match: 'exact' | 'wildcard' | undefined;
}

function inspect(raw: string, policy: OutboundPolicy): Inspected {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundUrlError('invalid_url', 'The URL does not parse', { url: redact(raw) });
  }
  const shown = redact(raw, url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OutboundUrlError('scheme_not_allowed', 'Outbound URLs must use https', { url: shown });
  }
  if (url.username || url.password) {
    throw new OutboundUrlError('userinfo_not_allowed', 'Outbound URLs may not carry credentials (user:password@)', { url: shown });
  }
  const match = allowListMatch(url, policy);
  // WHATWG URL has already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1,
  // and ::ffff:127.0.0.1 into ::ffff:7f00:1, so one check sees every spelling.
  const range = blockedRange(url.hostname);
  if (range && match !== 'exact') {
    throw new OutboundUrlError('address_not_allowed', `${url.hostname} is in a blocked address range (${range})`, {
      url: shown,
      range,
    });
  }
  if (policy.allowedHosts.length > 0 && !match) {
    throw new OutboundUrlError('host_not_allowed', `${url.host} is not on the outbound allow-list`, { url: shown });
  }
  if (url.protocol === 'http:' && !match) {
    throw new OutboundUrlError('scheme_not_allowed', 'Outbound URLs must use https (http only to hosts on OUTBOUND_ALLOWED_HOSTS)', { url: shown });
  }
  return { url, match };
}

/** At job submission: refuses (422 outbound_url_not_allowed) what is wrong without asking DNS. */
export function checkWebhookUrl(url: string, policy: OutboundPolicy): URL {
  return inspect(url, policy).url;
}

/** A URL that passed every check, and the only addresses a request to it may connect to. */
export interface CheckedTarget {
  url: URL;
  /** In resolver order; every one of them was checked. */
  addresses: LookupAddress[];
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

/** getaddrinfo cannot be cancelled, but the caller can stop waiting for it. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Just before a request: the URL checks again (the policy may have changed since the job was
 * submitted), then DNS. One blocked address refuses the lot: a name that resolves to a public
 * and a private address would otherwise reach the private one whenever the resolver put it first.
 * DNS failures are thrown as they are: worth a retry, unlike a refusal.
 */
export async function resolveAndCheck(
  raw: string,
  policy: OutboundPolicy,
  opts: { resolve?: Resolver; signal?: AbortSignal } = {},
): Promise<CheckedTarget> {
  const { url, match } = inspect(raw, policy);
  const host = bare(url.hostname);
  const family = isIP(host);
  if (family) return { url, addresses: [{ address: host, family }] };
  const addresses = await abortable((opts.resolve ?? systemResolver)(url.hostname), opts.signal);
  if (addresses.length === 0) throw new Error(`DNS returned no address for ${url.hostname}`);
  if (match !== 'exact') {
    for (const { address } of addresses) {
      const range = blockedRange(address);
      if (range) {
        throw new OutboundUrlError('address_not_allowed', `${url.hostname} resolves to ${address}, in a blocked address range (${range})`, {
          url: redact(raw, url),
          address,
          range,
        });
      }
    }
  }
  return { url, addresses };
}

/** A `lookup` for net/http that answers with the checked addresses and never asks DNS again. */
export function pinnedLookup(target: CheckedTarget): LookupFunction {
  const expected = withoutTrailingDot(target.url.hostname);
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const candidates = target.addresses.filter((a) => !family || a.family === family);
    if (withoutTrailingDot(hostname.toLowerCase()) !== expected || candidates.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`${hostname} is not the checked host ${expected}`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all) callback(null, candidates);
    else callback(null, candidates[0].address, candidates[0].family);
  };
}

/**
 * POSTs `body` to a checked target over a fresh connection to one of its checked addresses
 * and resolves with the status code. Redirects are never followed (node's http does not);
 * the response body is not read.
 */
export function postToTarget(target: CheckedTarget, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: pinnedLookup(target),
        // No pooled sockets: each attempt connects to what was just checked.
        agent: false,
        signal,
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
