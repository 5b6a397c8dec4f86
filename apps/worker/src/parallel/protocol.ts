// Messages between the training loop and its data-parallel peer threads.
import type { BackendInfo } from '../../../shared/ml/tf.ts';
import type { Array32, GradRequest } from '../pipeline/peers.ts';

export { ownedData, type Array32 } from '../pipeline/peers.ts';

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
  | ({ type: 'grads'; id: number } & GradRequest)
  | { type: 'predict'; id: number; x: Array32 };

export type FromPeer =
  | { type: 'ready' }
  | { type: 'loaded'; id: number }
  | { type: 'grads'; id: number; loss: number; hits: number; grads: Float32Array[] }
  | { type: 'predict'; id: number; y: Array32 }
  | { type: 'error'; id?: number; message: string };
