// Reading and writing the zip of a Keras 3 `.keras` file, bounded: the
// archive is untrusted input. Every entry's name is checked (no path outside
// the archive), only the entries Keras defines are inflated, each into a
// buffer no larger than its declared size, and the declared sizes are checked
// against the limits before anything is inflated (so no zip bomb).
import { unzipSync, zipSync, type UnzipFileInfo } from 'fflate';
import { UnprocessableError } from '../../errors.ts';

export const CONFIG_JSON = 'config.json';
export const METADATA_JSON = 'metadata.json';
export const WEIGHTS_H5 = 'model.weights.h5';

export interface KerasZipLimits {
  /** Most bytes model.weights.h5 may declare. */
  maxWeightsBytes: number;
  /** Most bytes config.json may declare. */
  maxConfigBytes: number;
}

export interface KerasZipEntries {
  config: Uint8Array;
  metadata?: Uint8Array;
  weights: Uint8Array;
}

function bad(message: string, fault: string, extra: Record<string, unknown> = {}): never {
  throw new UnprocessableError('model_invalid', message, { fault, ...extra });
}

/** A name that stays inside the archive: relative, no `..`, no backslashes or drive letters. */
export function checkEntryName(name: string): void {
  const parts = name.split('/');
  if (name.length > 512 || name.startsWith('/') || /[\\:\u0000]/.test(name) || parts.some((p) => p === '..' || p === '.')) {
    bad(`The archive has an entry outside it: ${JSON.stringify(name.slice(0, 100))}`, 'zip_path', { entry: name.slice(0, 100) });
  }
}

/** Unpacks config.json, metadata.json and model.weights.h5; anything else (assets/) is left packed. */
export function readKerasZip(bytes: Uint8Array, limits: KerasZipLimits): KerasZipEntries {
  const seen = new Set<string>();
  const limitOf: Record<string, number> = { [CONFIG_JSON]: limits.maxConfigBytes, [METADATA_JSON]: 64 * 1024, [WEIGHTS_H5]: limits.maxWeightsBytes };
  const filter = (f: UnzipFileInfo): boolean => {
    checkEntryName(f.name);
    if (seen.has(f.name)) bad(`The archive has two entries named ${JSON.stringify(f.name.slice(0, 100))}`, 'zip_duplicate', { entry: f.name.slice(0, 100) });
    seen.add(f.name);
    const limit = limitOf[f.name];
    if (limit === undefined) return false;
    if (f.compression !== 0 && f.compression !== 8) bad(`Entry ${f.name} uses compression method ${f.compression}; only stored and deflate`, 'zip_compression');
    if (f.originalSize > limit) bad(`Entry ${f.name} declares ${f.originalSize} bytes (limit ${limit})`, 'zip_entry_too_large', { entry: f.name, declared: f.originalSize, limit });
    return true;
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter });
  } catch (err) {
    if (err instanceof UnprocessableError) throw err;
    bad(`The file is not a readable zip archive: ${(err as Error).message}`, 'zip_corrupt');
  }
  const config = files[CONFIG_JSON];
  const weights = files[WEIGHTS_H5];
  if (!config) bad('The .keras archive has no config.json', 'zip_missing_entry', { entry: CONFIG_JSON });
  if (!weights) bad('The .keras archive has no model.weights.h5', 'zip_missing_entry', { entry: WEIGHTS_H5 });
  return { config, metadata: files[METADATA_JSON], weights };
}

/** Packs a .keras archive as Keras writes it (stored entries, fixed date so that the bytes repeat). */
export function writeKerasZip(entries: { config: string; metadata: string; weights: Uint8Array }): Uint8Array {
  const mtime = new Date('1980-01-01T00:00:00Z');
  return zipSync(
    {
      [METADATA_JSON]: [new TextEncoder().encode(entries.metadata), { level: 0, mtime }],
      [CONFIG_JSON]: [new TextEncoder().encode(entries.config), { level: 0, mtime }],
      [WEIGHTS_H5]: [entries.weights, { level: 0, mtime }],
    },
  );
}

/** Zip local-file magic "PK\x03\x04"; HDF5's signature is "\x89HDF\r\n\x1a\n". */
export function detectKerasFormat(bytes: Uint8Array): 'keras' | 'h5' | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'keras';
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && sig.every((b, i) => bytes[i] === b)) return 'h5';
  return undefined;
}
