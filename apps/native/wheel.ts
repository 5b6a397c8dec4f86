// Step 1 of native:install: a TensorFlow wheel (through pip, or TF_WHEEL), and
// TensorFlow's C library out of it into site/, with CUDA beside it for GPU wheels.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeInstallConfig } from '../shared/config.ts';
import type { NativeLayout } from '../shared/ml/native-layout.ts';

const EXTRACT = fileURLToPath(new URL('./extract_wheel.py', import.meta.url));

/** No wheel can be had: pip has none, or TF_WHEEL is not a file. */
export class NoWheelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWheelError';
  }
}

export interface SiteInfo {
  /** Where the wheel came from: `pip:<spec>` or `file:<path>:<size>:<mtime>`. */
  source: string;
  name: string;
  version: string;
  sha256: string;
  cuda: string[];
}

/** Runs a command; resolves with its output, rejects with its last lines. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; echo?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      if (opts.echo) process.stderr.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${out.trim().split('\n').slice(-8).join('\n')}`))));
  });
}

export function sourceKey(cfg: NativeInstallConfig): string {
  if (!cfg.wheel) return `pip:${cfg.pipSpec}`;
  const abs = path.resolve(cfg.wheel);
  const st = existsSync(abs) ? statSync(abs) : undefined;
  return `file:${abs}:${st?.size}:${st?.mtimeMs}`;
}

/** The pip requirement asks for TensorFlow's CUDA libraries (`tensorflow[and-cuda]==…`). */
export function wantsCuda(spec: string): boolean {
  return /\[[^\]]*\band-cuda\b[^\]]*\]/.test(spec);
}

async function download(cfg: NativeInstallConfig, into: string): Promise<string> {
  if (cfg.wheel) {
    if (!existsSync(cfg.wheel) || !statSync(cfg.wheel).isFile()) throw new NoWheelError(`TF_WHEEL=${cfg.wheel} is not a file`);
    return path.resolve(cfg.wheel);
  }
  console.log(`native:install: pip download --no-deps ${cfg.pipSpec} (pip's configured index)`);
  try {
    await run(cfg.python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', into, cfg.pipSpec]);
  } catch (err) {
    throw new NoWheelError(`pip could not download ${cfg.pipSpec}: ${(err as Error).message}`);
  }
  const wheel = (await readdir(into)).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new NoWheelError(`pip downloaded no wheel for ${cfg.pipSpec}`);
  return path.join(into, wheel);
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).once('error', reject).once('end', () => resolve(hash.digest('hex')));
  });
}

/** The linker names binding.gyp asks for (-ltensorflow -ltensorflow_framework): the wheel ships the C API in libtensorflow_cc. */
async function linkNames(tensorflowDir: string): Promise<void> {
  for (const [name, target] of [
    ['libtensorflow.so.2', 'libtensorflow_cc.so.2'],
    ['libtensorflow.so', 'libtensorflow.so.2'],
    ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
  ]) await symlink(target, path.join(tensorflowDir, name));
}

async function installCuda(cfg: NativeInstallConfig, requirements: string[], site: string): Promise<void> {
  if (requirements.length === 0) throw new Error(`${cfg.pipSpec} asks for and-cuda, but the wheel lists no CUDA requirements`);
  console.log(`native:install: pip install --target site/ ${requirements.join(' ')}`);
  await run(cfg.python, ['-m', 'pip', 'install', '--no-compile', '--disable-pip-version-check', '--target', site, ...requirements], { echo: true });
}

/** Lists the CUDA library folders pip put in site/nvidia/, for the dynamic loader. */
async function writeCudaLibraryDirs(site: string, out: string): Promise<void> {
  const nvidia = path.join(site, 'nvidia');
  const dirs = existsSync(nvidia) ? (await readdir(nvidia)).map((d) => path.join(nvidia, d, 'lib')).filter((d) => existsSync(d)) : [];
  if (dirs.length) await writeFile(out, dirs.map((d) => `${d}\n`).join(''));
  else await rm(out, { force: true });
}

export async function readSiteInfo(layout: NativeLayout): Promise<SiteInfo | undefined> {
  try {
    return JSON.parse(await readFile(path.join(layout.site, 'source.json'), 'utf8')) as SiteInfo;
  } catch {
    return undefined;
  }
}

/** Fills site/ from the wheel: built in a side folder and moved in whole, so a broken run leaves no half library. */
export async function installSite(cfg: NativeInstallConfig, layout: NativeLayout, headers: string[], beforeSwap: () => Promise<void>): Promise<SiteInfo> {
  const work = `${layout.site}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(path.join(work, 'download'), { recursive: true });
  try {
    return await fillSite(cfg, layout, headers, work, beforeSwap);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fillSite(cfg: NativeInstallConfig, layout: NativeLayout, headers: string[], work: string, beforeSwap: () => Promise<void>): Promise<SiteInfo> {
  const wheel = await download(cfg, path.join(work, 'download'));
  console.log(`native:install: extracting TensorFlow's C library from ${path.basename(wheel)}`);
  const meta = JSON.parse(await run(cfg.python, [EXTRACT, wheel, work, ...headers])) as { name: string; version: string; cuda: string[] };
  const info: SiteInfo = { source: sourceKey(cfg), name: meta.name, version: meta.version, sha256: await sha256(wheel), cuda: wantsCuda(cfg.pipSpec) ? meta.cuda : [] };
  await rm(path.join(work, 'download'), { recursive: true, force: true });
  await linkNames(path.join(work, 'tensorflow'));
  if (info.cuda.length || wantsCuda(cfg.pipSpec)) await installCuda(cfg, info.cuda, work);
  await writeFile(path.join(work, 'source.json'), JSON.stringify(info, null, 2));
  await beforeSwap();
  await rm(layout.site, { recursive: true, force: true });
  await rename(work, layout.site);
  await writeCudaLibraryDirs(layout.site, layout.cudaLibraryDirs);
  return info;
}
