// Steps 2 and 3 of native:install: @tensorflow/tfjs-node into TF_NATIVE_DIR
// without its install script (which downloads libtensorflow 2.9.1 from storage
// that answers 403), then its addon built with node-gyp against site/tensorflow
// and this machine's own Node headers.
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NativeInstallConfig } from '../shared/config.ts';
import { NAPI_BUILD_VERSION, TFJS_NODE, TFJS_NODE_VERSION, type NativeLayout } from '../shared/ml/native-layout.ts';
import { run } from './wheel.ts';

const require = createRequire(import.meta.url);

function versionOf(pkgDir: string): string | undefined {
  const file = path.join(pkgDir, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
}

export function packageInstalled(layout: NativeLayout): boolean {
  return versionOf(layout.pkg) === TFJS_NODE_VERSION;
}

/**
 * The project's own copy of a @tensorflow package, as tf.ts loads it. tfjs-node
 * must register its backend with that copy: a second tfjs-core would be a
 * second engine, and its tensors foreign to ours.
 */
function projectCopy(name: string): string | undefined {
  try {
    const fromTfjs = createRequire(require.resolve('@tensorflow/tfjs/package.json'));
    return path.dirname(fromTfjs.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** Replaces the @tensorflow packages npm put beside tfjs-node with links to the project's own. */
async function shareTfjs(layout: NativeLayout): Promise<void> {
  const scope = path.dirname(layout.pkg);
  for (const entry of await readdir(scope)) {
    const name = `@tensorflow/${entry}`;
    if (name === TFJS_NODE) continue;
    const here = path.join(scope, entry);
    if ((await lstat(here)).isSymbolicLink()) continue;
    const ours = projectCopy(name);
    if (!ours) continue; // only tfjs-node's own (none today)
    if (versionOf(ours) !== versionOf(here)) throw new Error(`${TFJS_NODE}@${TFJS_NODE_VERSION} wants ${name}@${versionOf(here)}, the project has ${versionOf(ours)}`);
    await rm(here, { recursive: true, force: true });
    await symlink(path.relative(scope, ours), here, 'dir');
  }
}

/** npm, as the one running this script (npm_execpath), or the npm on PATH. */
export async function installPackage(layout: NativeLayout, npmCli: string | undefined): Promise<void> {
  console.log(`native:install: npm install ${TFJS_NODE}@${TFJS_NODE_VERSION} --ignore-scripts into ${layout.dir}`);
  const args = ['install', '--prefix', layout.dir, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', `${TFJS_NODE}@${TFJS_NODE_VERSION}`];
  await (npmCli ? run(process.execPath, [npmCli, ...args]) : run('npm', args));
  if (!packageInstalled(layout)) throw new Error(`npm did not install ${TFJS_NODE}@${TFJS_NODE_VERSION} in ${layout.dir}`);
  await shareTfjs(layout);
}

/** Node's headers (node_api.h) on this machine: npm's nodedir, else beside this Node's binary. Nothing is downloaded. */
function nodeHeaders(cfg: NativeInstallConfig): string {
  const dir = cfg.nodedir ?? path.resolve(path.dirname(process.execPath), '..');
  if (!existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`no Node headers in ${dir}/include/node (set npm's nodedir to a folder that has them; nothing is downloaded)`);
  }
  return dir;
}

/** npm's own node-gyp: npm hands scripts its path; otherwise next to npm. */
function nodeGyp(cfg: NativeInstallConfig, npmCli: string | undefined): string {
  const candidates = [cfg.nodeGyp, npmCli && path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (!found) throw new Error('node-gyp not found (npm bundles it: run this as npm run native:install)');
  return found;
}

/** deps/ is where binding.gyp looks for the library and headers (and the addon's rpath $ORIGIN/../../deps/lib). */
async function pointDepsAtSite(layout: NativeLayout): Promise<void> {
  const deps = path.join(layout.pkg, 'deps');
  await rm(deps, { recursive: true, force: true });
  await readFile(path.join(layout.pkg, 'binding.gyp')); // fails clearly if the package is not there
  await mkdir(deps);
  // Relative links: the whole TF_NATIVE_DIR can move (a Docker layer, a copy) and keep working.
  await symlink(path.relative(deps, layout.tensorflow), path.join(deps, 'lib'), 'dir');
  await symlink(path.relative(deps, path.join(layout.tensorflow, 'include')), path.join(deps, 'include'), 'dir');
}

export async function buildAddon(cfg: NativeInstallConfig, layout: NativeLayout, npmCli: string | undefined): Promise<void> {
  await pointDepsAtSite(layout);
  const nodedir = nodeHeaders(cfg);
  const gyp = nodeGyp(cfg, npmCli);
  console.log(`native:install: node-gyp rebuild (Node headers from ${nodedir})`);
  // The variables node-pre-gyp would pass: binding.gyp copies the addon to module_path, where tfjs-node looks.
  await run(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--module_name=tfjs_binding', `--module_path=${path.dirname(layout.addon)}`, `--napi_build_version=${NAPI_BUILD_VERSION}`], { cwd: layout.pkg });
  if (!existsSync(layout.addon)) throw new Error(`node-gyp built no addon at ${layout.addon}`);
}

/** The headers the addon's sources include from TensorFlow (extract_wheel.py follows what those include). */
export async function bindingHeaders(layout: NativeLayout): Promise<string[]> {
  const dir = path.join(layout.pkg, 'binding');
  const found = new Set<string>();
  for (const file of await readdir(dir)) {
    const text = await readFile(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/^\s*#\s*include\s*"((?:tensorflow|tsl|xla)\/[^"]+)"/gm)) found.add(m[1]);
  }
  if (found.size === 0) throw new Error(`no TensorFlow headers included by ${dir}`);
  return [...found].sort();
}
