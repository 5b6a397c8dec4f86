// HDF5 through h5wasm (the HDF5 C library compiled to wasm), for Keras weight
// files. Its browser build keeps files in Emscripten's in-memory file system:
// an HDF5 file can name other files (external links, external raw storage,
// virtual datasets), and in memory there are none to reach. A dataset's dtype
// and shape are checked before its values are read: a file can declare a
// 10 GB dataset in a few bytes, and reading it would allocate all of it.
import { randomUUID } from 'node:crypto';
import h5wasm from 'h5wasm';
import { UnprocessableError } from '../../errors.ts';

export type H5File = InstanceType<typeof h5wasm.File>;
type H5Node = ReturnType<H5File['get']>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

function bad(message: string, fault: string, extra: Record<string, unknown> = {}): never {
  throw new UnprocessableError('model_invalid', message, { fault, ...extra });
}

type Fs = Awaited<typeof h5wasm.ready>['FS'];
let fsReady: Promise<Fs> | undefined;
const memFs = () => (fsReady ??= h5wasm.ready.then((m) => m.FS));

/** Opens `bytes` as an HDF5 file, hands it to `use`, and frees it. */
export async function withH5File<T>(bytes: Uint8Array, use: (f: H5File) => T | Promise<T>): Promise<T> {
  const fs = await memFs();
  const path = `/${randomUUID()}.h5`;
  fs.writeFile(path, bytes);
  let file: H5File | undefined;
  try {
    try {
      file = new h5wasm.File(path, 'r');
    } catch (err) {
      bad(`The weights are not a readable HDF5 file: ${(err as Error).message}`, 'hdf5_corrupt');
    }
    return await use(file);
  } finally {
    try {
      file?.close();
    } finally {
      fs.unlink(path);
    }
  }
}

/** Builds a new HDF5 file with `write` and returns its bytes. */
export async function createH5File(write: (f: H5File) => void): Promise<Uint8Array> {
  const fs = await memFs();
  const path = `/${randomUUID()}.h5`;
  try {
    const file = new h5wasm.File(path, 'w');
    try {
      write(file);
    } finally {
      file.close();
    }
    return new Uint8Array(fs.readFile(path));
  } finally {
    fs.unlink(path);
  }
}

/** A child that must be a group, or undefined when absent. */
export function groupAt(parent: H5File | H5Group, path: string): H5Group | undefined {
  let node: H5Node;
  try {
    node = parent.get(path);
  } catch {
    return undefined;
  }
  if (node === null || node === undefined) return undefined;
  if (!(node instanceof h5wasm.Group)) bad(`HDF5 entry ${path} is not a group`, 'hdf5_layout', { path });
  return node;
}

export function datasetAt(parent: H5File | H5Group, path: string): H5Dataset {
  let node: H5Node;
  try {
    node = parent.get(path);
  } catch {
    node = null;
  }
  if (!(node instanceof h5wasm.Dataset)) bad(`HDF5 dataset ${path} is missing`, 'hdf5_layout', { path });
  return node;
}

/** A string attribute, or a list of strings (Keras writes both). */
export function stringAttr(node: H5File | H5Group, name: string): string | string[] | undefined {
  const attr = node.attrs[name];
  if (!attr) return undefined;
  const meta = attr.metadata;
  // h5py writes an empty list (a layer without weights) as an empty float array.
  if (attr.shape?.length === 1 && attr.shape[0] === 0) return [];
  if (meta.type !== 3 /* H5T_STRING */) bad(`HDF5 attribute ${name} is not text`, 'hdf5_layout', { attribute: name });
  // A string attribute is small by nature; a huge one is an attack on the JSON parser.
  const count = (attr.shape ?? []).reduce((a: number, b: number) => a * b, 1);
  if (count > 100_000 || (meta.size > 0 && meta.size * count > 64 * 2 ** 20)) bad(`HDF5 attribute ${name} is too large`, 'hdf5_attribute_too_large', { attribute: name });
  const v = attr.value as unknown;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  bad(`HDF5 attribute ${name} is not text`, 'hdf5_layout', { attribute: name });
}

export interface WeightBudget {
  /** Bytes still allowed (MAX_MODEL_BYTES less what earlier datasets took). */
  remaining: number;
}

/**
 * Reads a float dataset as float32, after checking its dtype and its shape's
 * size against the budget: nothing is allocated for a dataset over it.
 */
export function readFloatDataset(ds: H5Dataset, path: string, budget: WeightBudget): { shape: number[]; values: Float32Array } {
  const meta = ds.metadata;
  const shape = (ds.shape ?? []).map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 1e9)) bad(`HDF5 dataset ${path} has an invalid shape`, 'hdf5_shape', { path });
  if (meta.virtual_sources?.length) bad(`HDF5 dataset ${path} is virtual (its data lives in other files)`, 'hdf5_layout', { path });
  const float = meta.type === 1 && (meta.size === 4 || meta.size === 8) && meta.littleEndian !== false;
  if (!float) bad(`HDF5 dataset ${path} has dtype ${ds.dtype}; only float32 (or float64) weights are accepted`, 'hdf5_dtype', { path, dtype: String(ds.dtype) });
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = count * 4;
  if (bytes > budget.remaining) {
    throw new UnprocessableError('model_too_large', `HDF5 dataset ${path} declares ${count} values (${bytes} bytes), more than the ${Math.max(0, budget.remaining)} bytes left under MAX_MODEL_BYTES`, { path, declared: bytes, setting: 'MAX_MODEL_BYTES' });
  }
  budget.remaining -= bytes;
  const raw = ds.value as unknown;
  if (!(raw instanceof Float32Array || raw instanceof Float64Array) || raw.length !== count) bad(`HDF5 dataset ${path} could not be read as ${count} floats`, 'hdf5_shape', { path });
  return { shape, values: raw instanceof Float32Array ? raw : Float32Array.from(raw) };
}
