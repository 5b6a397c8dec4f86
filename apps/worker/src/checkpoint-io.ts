// A checkpoint in S3 is everything a job needs to continue exactly where it
// stopped: the model (model.json + weights.bin), the optimizers' slots
// (optimizer.bin), and where in training it was (state.json, written last).
// Postgres lists a checkpoint only after all of them are written.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../shared/ml/tf.ts';
import { s3IOHandler } from '../../shared/ml/s3-io-handler.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { loadModel } from './pipeline/load.ts';
import type { OptimizerState, TrainPoint } from './pipeline/train.ts';

const STATE = 'state.json';
const OPTIMIZER = 'optimizer.bin';

interface StateFile extends TrainPoint {
  /** Per optimizer, the specs of its slots in optimizer.bin, in order. */
  optimizers: Array<Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32' }>>;
}

export interface Checkpoint {
  point: TrainPoint;
  optimizers: OptimizerState;
}

/** Writes a checkpoint; returns the bytes written. The caller records it in Postgres afterwards. */
export async function saveCheckpoint(storage: Storage, prefix: string, model: LayersModel, point: TrainPoint, optimizers: OptimizerState): Promise<number> {
  const saved = await model.save(s3IOHandler(storage, prefix));
  const encoded = await Promise.all(optimizers.map((o) => tf.io.encodeWeights(o)));
  const bin = Buffer.concat(encoded.map((e) => Buffer.from(e.data)));
  await storage.put(prefix + OPTIMIZER, bin);
  const state: StateFile = { ...point, optimizers: encoded.map((e) => e.specs.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype as 'float32' | 'int32' }))) };
  await storage.put(prefix + STATE, JSON.stringify(state), 'application/json');
  return (saved.modelArtifactsInfo.weightDataBytes ?? 0) + bin.byteLength;
}

/** Sets the model's weights from a checkpoint and returns its training state; null when it has none (an old checkpoint). */
export async function loadCheckpoint(storage: Storage, prefix: string, model: LayersModel): Promise<Checkpoint | null> {
  let state: StateFile;
  try {
    state = JSON.parse(Buffer.from(await storage.getBytes(prefix + STATE, storage.bucket, 16 * 2 ** 20)).toString('utf8')) as StateFile;
  } catch {
    return null;
  }
  const weights = await epochWeights(storage, prefix);
  model.layers.forEach((l, i) => l.setWeights(weights[i]));
  tf.dispose(weights.flat());
  const bin = await storage.getBytes(prefix + OPTIMIZER);
  let offset = 0;
  const optimizers: OptimizerState = state.optimizers.map((specs) => specs.map((spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = bin.slice(offset, offset + size * 4);
    offset += size * 4;
    const values = spec.dtype === 'int32' ? new Int32Array(bytes.buffer, bytes.byteOffset, size) : new Float32Array(bytes.buffer, bytes.byteOffset, size);
    return { name: spec.name, tensor: tf.tensor(values, spec.shape, spec.dtype) };
  }));
  return { point: { epoch: state.epoch, batch: state.batch, lossSum: state.lossSum, correct: state.correct }, optimizers };
}

/** Per layer, the weights a checkpoint holds (the caller disposes them). */
export async function epochWeights(storage: Storage, prefix: string): Promise<Tensor[][]> {
  const { model } = await loadModel(storage, prefix);
  const weights = model.layers.map((l) => l.getWeights().map((w) => w.clone()));
  model.dispose();
  return weights;
}
