// The client's browser build: browser.ts and what it imports, as one ES module
// for the dashboard. Committed as apps/dashboard/client.js (the API serves files
// read at start-up and runs no build); test/client-bundle.test.ts rebuilds it
// and fails if the committed file differs, so it cannot go stale.
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const BUNDLE_PATH = path.join(ROOT, 'apps/dashboard/client.js');

const BANNER = [
  '// Generated from apps/client (entry apps/client/browser.ts) by `npm run client:bundle`: do not edit.',
  '// test/client-bundle.test.ts fails when this file differs from a fresh build.',
].join('\n');

/** The bundle's text. Paths in it are relative to the repository, so any checkout builds the same bytes. */
export async function bundleForBrowser(): Promise<string> {
  const out = await build({
    absWorkingDir: ROOT,
    entryPoints: ['apps/client/browser.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    // Private class fields and top-level await as written: every browser the dashboard supports has them.
    target: 'es2022',
    // Readable, so that a review of the diff reads the client.
    minify: false,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: BANNER },
    logLevel: 'warning',
  });
  return out.outputFiles[0].text;
}
