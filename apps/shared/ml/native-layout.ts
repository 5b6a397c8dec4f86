// Where `npm run native:install` puts things inside TF_NATIVE_DIR: shared by the
// installer (apps/native/) and the backend picker (tf.ts), which must agree.
//
//   site/tensorflow/       the wheel's C library and the headers the addon includes
//   site/nvidia/*/lib      CUDA and cuDNN from pip (GPU installs), where the wheel's
//                          own layout puts them: beside tensorflow/
//   node_modules/@tensorflow/tfjs-node/   the package, its deps/ pointing at site/,
//                          its addon in lib/napi-v8/
//   install.json           written last: what was installed, for whom
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const TFJS_NODE = '@tensorflow/tfjs-node';
export const TFJS_NODE_VERSION = '4.22.0';
/** tfjs-node's binding.gyp builds for N-API 8; node-pre-gyp then finds it in lib/napi-v8. */
export const NAPI_BUILD_VERSION = 8;

export interface NativeStamp {
  tfjsNode: string;
  /** The wheel the library came from. */
  tensorflow: { name: string; version: string; source: string; sha256: string };
  /** CUDA requirements installed beside it (the wheel's and-cuda extra); empty for CPU wheels. */
  cuda: string[];
  /** The Node ABI the addon was built for. */
  node: { version: string; modules: string };
  installedAt: string;
}

export function nativeLayout(dir: string) {
  const site = path.join(dir, 'site');
  const pkg = path.join(dir, 'node_modules', TFJS_NODE);
  return {
    dir,
    site,
    tensorflow: path.join(site, 'tensorflow'),
    pkg,
    entry: path.join(pkg, 'dist', 'index.js'),
    addon: path.join(pkg, 'lib', `napi-v${NAPI_BUILD_VERSION}`, 'tfjs_binding.node'),
    stamp: path.join(dir, 'install.json'),
    /** One CUDA library folder a line, for /etc/ld.so.conf.d/ or LD_LIBRARY_PATH (GPU installs). */
    cudaLibraryDirs: path.join(dir, 'cuda-library-dirs'),
  };
}

export type NativeLayout = ReturnType<typeof nativeLayout>;

/** The finished install in `dir`, if there is one. */
export function readStamp(layout: NativeLayout): NativeStamp | undefined {
  if (!existsSync(layout.stamp)) return undefined;
  try {
    return JSON.parse(readFileSync(layout.stamp, 'utf8')) as NativeStamp;
  } catch {
    return undefined;
  }
}
