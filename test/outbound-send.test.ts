// At send time a webhook URL is checked again, against what DNS answers now, and the
// request goes to the address that was checked, never to a second lookup.
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { blockedRange, OutboundUrlError, postToTarget, resolveAndCheck } from '../apps/shared/net/outbound-url.ts';
import { fakeDns, OPEN, policy } from './helpers/outbound.ts';

describe('outbound URL checks at send time', () => {
  it('at send time, refuses a name that resolves to a blocked address: localhost, really resolved', async () => {
    await assert.rejects(resolveAndCheck('https://localhost/hook', OPEN), (e: OutboundUrlError) => {
      assert.ok(e instanceof OutboundUrlError);
      assert.equal(e.reason, 'address_not_allowed');
      assert.equal((e.details as { range: string }).range, 'loopback');
      return true;
    });
    // Listed exactly, the operator vouches for it.
    const target = await resolveAndCheck('http://localhost:8080/hook', policy('localhost:8080'));
    assert.ok(target.addresses.length > 0 && target.addresses.every((a) => blockedRange(a.address) === 'loopback'));
  });

  it('at send time, one blocked address among many refuses the lot; a wildcard does not vouch for addresses', async () => {
    const resolve = fakeDns('93.184.215.14', '127.0.0.1');
    await assert.rejects(resolveAndCheck('https://rebind.example.net/', OPEN, { resolve }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    await assert.rejects(resolveAndCheck('https://x.example.net/', OPEN, { resolve: fakeDns('2606:4700::1', '::ffff:169.254.169.254') }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    await assert.rejects(resolveAndCheck('https://x.example.net/', policy('*.example.net'), { resolve: fakeDns('10.1.2.3') }), (e: OutboundUrlError) => e.reason === 'address_not_allowed');
    const ok = await resolveAndCheck('https://x.example.net/', policy('x.example.net'), { resolve: fakeDns('10.1.2.3') });
    assert.deepEqual(ok.addresses, [{ address: '10.1.2.3', family: 4 }]);
    const pub = await resolveAndCheck('https://x.example.net/', OPEN, { resolve: fakeDns('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c') });
    assert.equal(pub.addresses.length, 2);
    // The URL checks run again: the policy may have changed since the job was submitted.
    await assert.rejects(resolveAndCheck('http://x.example.net/', OPEN, { resolve }), (e: OutboundUrlError) => e.reason === 'scheme_not_allowed');
    // A DNS failure is not a refusal: the dispatcher retries it.
    const failing = async (): Promise<LookupAddress[]> => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN x.example.net'), { code: 'EAI_AGAIN' });
    };
    await assert.rejects(resolveAndCheck('https://x.example.net/', OPEN, { resolve: failing }), (e: Error) => !(e instanceof OutboundUrlError) && /EAI_AGAIN/.test(e.message));
  });

  it('connects to the address it checked, without asking DNS again', async () => {
    const seen: IncomingMessage[] = [];
    const server = createServer((req, res) => {
      seen.push(req);
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      let lookups = 0;
      // .invalid never resolves for real: only the checked answer can get the request there.
      const target = await resolveAndCheck(`http://hooks.invalid:${port}/x`, policy(`hooks.invalid:${port}`), {
        resolve: async () => {
          lookups++;
          return [{ address: '127.0.0.1', family: 4 }];
        },
      });
      const status = await postToTarget(target, { 'content-type': 'application/json' }, '{}', AbortSignal.timeout(5000));
      assert.equal(status, 204);
      assert.equal(lookups, 1);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].headers.host, `hooks.invalid:${port}`);
    } finally {
      server.close();
    }
  });

  it('gives up on a receiver that never answers when the signal fires', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const target = await resolveAndCheck(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, policy('127.0.0.1'));
      const started = Date.now();
      const signal = AbortSignal.timeout(200);
      await assert.rejects(postToTarget(target, {}, '{}', signal));
      assert.ok(signal.aborted && Date.now() - started < 2000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
