// The dashboard: a static shell (apps/dashboard) and the two charting bundles,
// served from node_modules (no CDN, no build step). The shell holds no tenant
// data, so these routes are public; every data request the page makes goes to
// the JSON API with the key the user types in.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const SHELL_DIR = fileURLToPath(new URL('../../../dashboard/', import.meta.url));
const require = createRequire(import.meta.url);
/** A package's dist/ folder (its main entry lives there; subpaths are not exported). */
const dist = (pkg: string) => path.dirname(require.resolve(pkg));

// Scripts only from this origin, no inline code, no eval; data only from this origin.
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** URL → file. A fixed list: nothing else on disk is reachable. */
function files(): Record<string, string> {
  const shell = (name: string) => path.join(SHELL_DIR, name);
  return {
    '/': shell('index.html'),
    '/dashboard/app.js': shell('app.js'),
    '/dashboard/api.js': shell('api.js'),
    '/dashboard/client.js': shell('client.js'),
    '/dashboard/charts.js': shell('charts.js'),
    '/dashboard/views.js': shell('views.js'),
    '/dashboard/sweeps.js': shell('sweeps.js'),
    '/dashboard/style.css': shell('style.css'),
    '/assets/chart.umd.js': path.join(dist('chart.js'), 'chart.umd.min.js'),
    '/assets/chartjs-chart-matrix.js': path.join(dist('chartjs-chart-matrix'), 'chartjs-chart-matrix.min.js'),
  };
}

export default async function dashboard(app: FastifyInstance) {
  for (const [url, file] of Object.entries(files())) {
    // Read once at start-up: a missing file fails the boot, not a page view.
    const body = await readFile(file);
    const type = TYPES[path.extname(file)];
    app.get(url, { schema: { hide: true }, config: { auth: 'public' } }, async (_req, reply) =>
      reply
        .type(type)
        .header('content-security-policy', DASHBOARD_CSP)
        // The shell changes with deployments; the vendored bundles only with package versions.
        .header('cache-control', url.startsWith('/assets/') ? 'public, max-age=86400' : 'no-cache')
        .send(body),
    );
  }
}
