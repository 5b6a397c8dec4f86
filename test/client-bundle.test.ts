// The dashboard's copy of the typed client (apps/dashboard/client.js) is a build
// of apps/client, committed so that the API serves it without a build step. A
// change to apps/client without `npm run client:bundle` fails here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { BUNDLE_PATH, bundleForBrowser } from '../apps/client/bundle.ts';

describe('the client\'s browser build', () => {
  it('is exactly a fresh build of apps/client (run npm run client:bundle after changing it)', async () => {
    const [committed, fresh] = await Promise.all([readFile(BUNDLE_PATH, 'utf8'), bundleForBrowser()]);
    let firstDiff = 0;
    while (firstDiff < fresh.length && fresh[firstDiff] === committed[firstDiff]) firstDiff++;
    assert.ok(committed === fresh, `apps/dashboard/client.js is stale from character ${firstDiff}: run npm run client:bundle`);
  });

  it('exports the client and its error, and pulls in no Node module', async () => {
    const text = await readFile(BUNDLE_PATH, 'utf8');
    assert.match(text, /^export \{\s*ApiError,\s*FinetuneClient\s*\};\s*$/m);
    assert.doesNotMatch(text, /\bfrom ["']node:|require\(|import\(["']/);
  });
});
