// The typed client (apps/client) over Fastify's inject, so tests that are not
// about raw HTTP call the API the way other services do, without a listening port.
import type { App } from '../../apps/api/src/app.ts';
import { FinetuneClient } from '../../apps/client/client.ts';

function injectFetch(app: App): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input));
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      payload: typeof init?.body === 'string' ? init.body : undefined,
    });
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
    const empty = res.statusCode === 204 || res.statusCode === 304 || init?.method === 'HEAD';
    return new Response(empty ? null : res.rawPayload, { status: res.statusCode, headers });
  };
}

/** A client of `app` that sends `key` as its Bearer key. */
export function clientFor(app: App, key: string): FinetuneClient {
  return new FinetuneClient({ baseUrl: 'http://app.test', apiKey: key, fetch: injectFetch(app) });
}
