// Messages between the training loop and its data-parallel peer threads.
import type { BackendInfo } from '../../../shared/ml/tf.ts';

export interface Array32 {
  data: Float32Array;
  shape: number[];
}

export interface SerializedModel {
  /** LayersModel topology JSON (model.toJSON). */
  topology: string;
  weights: Float32Array[];
}

export interface PeerInit {
  backend: BackendInfo['kind'];
}

export type ToPeer =
  | { type: 'load'; id: number; base?: SerializedModel; head: SerializedModel }
  | {
      type: 'grads';
      id: number;
      x: Array32;
      y: Array32;
      unfrozen: number;
      /** x is the frozen base's output. */
      features: boolean;
      classWeights?: Float32Array;
      /** What this shard's dropout masks depend on: the job's seed, the epoch, each example's row index. */
      dropout: { seed: number; epoch: number; rows: Int32Array };
      /** Weights of changingLayers(), flattened in order. */
      sync: Float32Array[];
    }
  | { type: 'predict'; id: number; x: Array32 };

export type FromPeer =
  | { type: 'ready' }
  | { type: 'loaded'; id: number }
  | { type: 'grads'; id: number; loss: number; hits: number; grads: Float32Array[] }
  | { type: 'predict'; id: number; y: Array32 }
  | { type: 'error'; id?: number; message: string };

/**
 * A tensor's values in a buffer we may transfer. wasm's dataSync already
 * copies out of its heap; cpu's returns its own storage, which must not move.
 */
export function ownedData(t: { dataSync(): unknown }, backend: string): Float32Array {
  const d = t.dataSync() as Float32Array;
  return backend === 'wasm' ? d : d.slice();
}
