// `npm run native:install`: native TensorFlow for the tensorflow backend, in one
// idempotent command, changing neither package.json nor the lockfile (so a plain
// `npm ci` never needs it, and survives it: everything lives in TF_NATIVE_DIR).
//
//   1. a TensorFlow wheel through pip (TF_PIP_SPEC, pip's configured index) or TF_WHEEL;
//      its C library and headers into site/, CUDA from pip beside it for GPU wheels
//   2. @tensorflow/tfjs-node without its install script
//   3. its addon, built with node-gyp against site/ and this machine's Node headers
//   4. a check: a child process picks TF_BACKEND=tensorflow and runs a matmul
//
// Exit codes: 0 installed (or already was), 3 no wheel could be had, 1 anything else.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { envWith, loadNativeInstallConfig } from '../shared/config.ts';
import { probeBackend } from '../shared/ml/backend-probe.ts';
import { nativeLayout, readStamp, TFJS_NODE, TFJS_NODE_VERSION, type NativeStamp } from '../shared/ml/native-layout.ts';
import { bindingHeaders, buildAddon, installPackage, packageInstalled } from './addon.ts';
import { installSite, NoWheelError, readSiteInfo, sourceKey, type SiteInfo } from './wheel.ts';

export const EXIT_NO_WHEEL = 3;

const cfg = loadNativeInstallConfig();
const layout = nativeLayout(cfg.dir);
const npmCli = cfg.npmCli;

async function install(): Promise<NativeStamp> {
  const stamp = readStamp(layout);
  const wanted = sourceKey(cfg);
  const upToDate = stamp && stamp.tensorflow.source === wanted && stamp.tfjsNode === TFJS_NODE_VERSION && stamp.node.modules === process.versions.modules && existsSync(layout.addon);
  if (upToDate) {
    console.log(`native:install: already installed in ${layout.dir} (${stamp.tensorflow.name} ${stamp.tensorflow.version}); checking it`);
    return stamp;
  }
  await mkdir(layout.dir, { recursive: true });
  // The stamp goes just before the install it vouches for changes, so that a run that
  // finds no wheel leaves a working install working.
  const unstamp = () => rm(layout.stamp, { force: true });
  if (!packageInstalled(layout)) {
    await unstamp();
    await installPackage(layout, npmCli);
  }
  let site: SiteInfo | undefined = await readSiteInfo(layout);
  if (site?.source !== wanted || !existsSync(path.join(layout.tensorflow, 'libtensorflow_cc.so.2'))) {
    site = await installSite(cfg, layout, await bindingHeaders(layout), unstamp);
  } else {
    console.log(`native:install: ${site.name} ${site.version} already extracted`);
  }
  await unstamp();
  await buildAddon(cfg, layout, npmCli);
  const fresh: NativeStamp = {
    tfjsNode: TFJS_NODE_VERSION,
    tensorflow: { name: site.name, version: site.version, source: site.source, sha256: site.sha256 },
    cuda: site.cuda,
    node: { version: process.version, modules: process.versions.modules },
    installedAt: new Date().toISOString(),
  };
  await writeFile(layout.stamp, `${JSON.stringify(fresh, null, 2)}\n`);
  return fresh;
}

try {
  const stamp = await install();
  // The same selection and the same child the worker uses: proof that the service will get it.
  const probe = await probeBackend(envWith({ TF_BACKEND: 'tensorflow', TF_NATIVE_DIR: layout.dir }));
  console.log(`native:install: ok. tf.getBackend() is '${probe.backend.name}'; TensorFlow ${stamp.tensorflow.version} ran a matmul on ${probe.device}`);
  console.log(`native:install: ${TFJS_NODE}@${stamp.tfjsNode} in ${layout.dir}; TF_BACKEND=auto now picks it${stamp.cuda.length ? ` (CUDA library folders for the loader: ${layout.cudaLibraryDirs})` : ''}`);
} catch (err) {
  if (err instanceof NoWheelError) {
    console.error(`native:install: no TensorFlow wheel could be had: ${err.message}\nnative:install: set TF_WHEEL to a wheel file, or give pip an index that has ${cfg.pipSpec}. wasm stays the backend.`);
    process.exit(EXIT_NO_WHEEL);
  }
  console.error(`native:install: failed: ${(err as Error).message}`);
  process.exit(1);
}
