// `npm run gpu-check:bundle`: gpu-check as a folder to carry to a GPU machine
// that has no network (and no room for native TensorFlow: its library and CUDA
// are gigabytes). esbuild bundles gpu-check, tfjs, the WebGPU and wasm backends
// into one CommonJS file; beside it go the wasm binaries and Dawn (the `webgpu`
// package: a Node addon that needs only a Vulkan driver). Run it there with
// `node gpu-check.cjs`. The two optional packages are fetched into .gpu-check/,
// never into package.json.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { loadNativeInstallConfig } from '../shared/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = path.join(ROOT, '.gpu-check');
const OUT = path.join(CACHE, 'bundle');
const PACKAGES = ['webgpu@0.6.2', '@tensorflow/tfjs-backend-webgpu@4.22.0'];
const { npmCli } = loadNativeInstallConfig();
const npm = (args: string[]) => execFileSync(npmCli ? process.execPath : 'npm', [...(npmCli ? [npmCli] : []), ...args], { stdio: 'inherit' });

npm(['install', '--prefix', CACHE, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', ...PACKAGES]);
// Their tfjs-core and cpu backend are the project's own (resolved from the repository): one engine.
for (const dup of ['tfjs-core', 'tfjs-backend-cpu']) rmSync(path.join(CACHE, 'node_modules', '@tensorflow', dup), { recursive: true, force: true });

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: [path.join(ROOT, 'apps/bench/gpu-check-entry.ts')],
  outfile: path.join(OUT, 'gpu-check.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  // The backends register themselves on import; their package.json says sideEffects: false regardless.
  ignoreAnnotations: true,
  legalComments: 'linked',
  nodePaths: [path.join(CACHE, 'node_modules')],
  // Dawn loads its addon by path at run time; it is copied beside the bundle instead.
  external: ['webgpu'],
  // CommonJS has no import.meta: the modules that find files relative to themselves get the bundle's URL.
  define: { 'import.meta.url': 'import_meta_url', 'import.meta.dirname': '__dirname' },
  banner: { js: "const import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
const wasmDir = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) cpSync(path.join(wasmDir, f), path.join(OUT, f));
const dawn = path.join(CACHE, 'node_modules/webgpu');
const dawnOut = path.join(OUT, 'node_modules/webgpu');
for (const f of ['index.js', 'package.json', 'LICENSE.md', `dist/${process.platform}-${process.arch}/dawn.node`]) {
  mkdirSync(path.dirname(path.join(dawnOut, f)), { recursive: true });
  cpSync(path.join(dawn, f), path.join(dawnOut, f));
}
const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(path.join(p, f)), 0) : statSync(p).size);
console.log(`gpu-check bundle: ${OUT} (${(size(OUT) / 2 ** 20).toFixed(1)} MiB). Carry the folder; run: node gpu-check.cjs [--steps 300]`);
