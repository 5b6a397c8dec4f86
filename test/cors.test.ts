// CORS is off unless CORS_ORIGINS is set: then exactly those origins get
// Access-Control-* headers (a preflight needs no key), and no other origin does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildApp, type App } from '../apps/api/src/app.ts';
import { ConfigError, loadConfig } from '../apps/shared/config.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http } from './helpers/api.ts';

const ALLOWED = 'https://app.example.com';

describe('CORS', () => {
  let h: Harness;
  let off: App;
  before(async () => {
    h = await createHarness({ env: { CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` } });
    off = await buildApp({ ...h.config, corsOrigins: [] }, { logger: false });
    await off.ready();
  });
  after(async () => {
    await off?.close();
    await h?.close();
  });

  const preflight = (app: App, origin: string) =>
    request(app.server).options('/v1/jobs').set('origin', origin).set('access-control-request-method', 'POST').set('access-control-request-headers', 'authorization, content-type, idempotency-key');

  it('with CORS_ORIGINS, a listed origin gets a preflight without a key, and its calls carry the grant', async () => {
    assert.deepEqual(h.config.corsOrigins, [ALLOWED, 'http://localhost:5173']);
    const pre = await preflight(h.app, ALLOWED);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/i);
    assert.equal(pre.headers['access-control-allow-credentials'], undefined, 'no cookies: the key is a header');
    const res = await http(h.app).get('/v1/jobs').set('origin', ALLOWED);
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(res.headers['access-control-expose-headers']), /x-request-id/);
    assert.match(String(res.headers.vary), /origin/i);
    // The grant is no substitute for a key.
    assert.equal((await http(h.app, '').get('/v1/jobs').set('origin', ALLOWED)).status, 401);
  });

  it('with CORS_ORIGINS, any other origin gets no grant', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
      const pre = await preflight(h.app, origin);
      assert.equal(pre.headers['access-control-allow-origin'], undefined, origin);
      const res = await http(h.app).get('/v1/jobs').set('origin', origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('without CORS_ORIGINS (the default), no origin gets any Access-Control header', async () => {
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    const pre = await preflight(off, ALLOWED);
    assert.ok(pre.status >= 400, `preflight answered ${pre.status}`);
    const res = await http(off, h.tenant.apiKey).get('/v1/jobs').set('origin', ALLOWED);
    assert.equal(res.status, 200);
    for (const r of [pre, res]) {
      assert.deepEqual(Object.keys(r.headers).filter((k) => k.startsWith('access-control-')), []);
    }
  });

  it('CORS_ORIGINS takes exact origins only', () => {
    for (const bad of ['*', 'https://app.example.com/path', 'app.example.com', 'ftp://x.example', 'https://user:pw@x.example']) {
      assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), ConfigError, bad);
    }
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'HTTPS://App.Example.com/, http://localhost:8080' }).corsOrigins, ['https://app.example.com', 'http://localhost:8080']);
  });
});
