// Shared by the outbound-URL tests: the open policy, a policy from an allow-list,
// a fake resolver, and the shape of a refusal.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { loadConfig } from '../../apps/shared/config.ts';
import { OutboundUrlError, type OutboundPolicy, type RefusalReason } from '../../apps/shared/net/outbound-url.ts';

export const OPEN: OutboundPolicy = { allowedHosts: [] };

export function refusal(fn: () => unknown, reason: RefusalReason, range?: string) {
  return assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OutboundUrlError, String(err));
    assert.equal(err.statusCode, 422);
    assert.equal(err.code, 'outbound_url_not_allowed');
    assert.equal(err.reason, reason);
    assert.equal((err.details as { reason: string }).reason, reason);
    if (range) assert.equal((err.details as { range: string }).range, range);
    return true;
  });
}

export const policy = (hosts: string) => loadConfig({ OUTBOUND_ALLOWED_HOSTS: hosts }).webhooks;
/** A resolver that answers every name with these addresses. */
export const fakeDns = (...addresses: string[]) => async (): Promise<LookupAddress[]> => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
