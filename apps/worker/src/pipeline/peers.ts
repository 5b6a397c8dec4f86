// What the training loop needs of data-parallel helpers: the gradient-step
// interface. pipeline/ defines it; parallel/ (worker threads) implements it,
// so the loop knows nothing of threads or messages.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Trainable } from './batch-gradients.ts';

export interface Array32 {
  data: Float32Array;
  shape: number[];
}

/** One shard of a batch for one peer. */
export interface GradRequest {
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

export interface PeerGrads {
  loss: number;
  hits: number;
  grads: Float32Array[];
}

/** Helpers that each take a shard of every batch, holding replicas of the model being trained. */
export interface GradientPeers {
  /** Peers, not counting the caller's thread. */
  readonly size: number;
  /** Gives every peer a replica of these parts; a no-op when they already hold them. */
  load(parts: Trainable): Promise<void>;
  /** One request per peer (fewer when the batch is small); answers in the same order. */
  gradients(requests: GradRequest[]): Promise<PeerGrads[]>;
  /** The loaded base's outputs for x, computed in slices across the peers and the caller. */
  features(base: LayersModel, x: Tensor): Promise<Tensor>;
}

/**
 * A tensor's values in a buffer we may transfer. wasm's dataSync already
 * copies out of its heap; cpu's returns its own storage, which must not move.
 */
export function ownedData(t: { dataSync(): unknown }, backend: string): Float32Array {
  const d = t.dataSync() as Float32Array;
  return backend === 'wasm' ? d : d.slice();
}

/** Contiguous ranges splitting n rows into `parts`, largest first. */
export function splitRows(n: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = Math.ceil((n - start) / (parts - i));
    out.push([start, start + size]);
    start += size;
  }
  return out;
}
