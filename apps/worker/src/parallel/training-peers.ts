// Data-parallel training across worker threads. tfjs's wasm backend runs on
// one thread in Node, so a 2-core machine trains at half speed. Each peer
// thread holds a replica of the model; per batch the training loop sends every
// peer the latest weights and a shard, computes its own shard meanwhile, and
// averages the gradients before its optimizer step (synchronous data
// parallelism: one optimizer, replicas never drift).
import { Worker } from 'node:worker_threads';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf, type BackendInfo } from '../../../shared/ml/tf.ts';
import type { Trainable } from '../pipeline/batch-gradients.ts';
import { predictBatched } from '../pipeline/scoring.ts';
import { ownedData, splitRows, type Array32, type GradientPeers, type GradRequest } from '../pipeline/peers.ts';
import type { FromPeer, PeerInit, SerializedModel, ToPeer } from './protocol.ts';

export { splitRows };
type Request = ToPeer extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;
type PeerGrads = Extract<FromPeer, { type: 'grads' }>;

const ENTRY = new URL('./peer-entry.mjs', import.meta.url);

class Peer {
  private readonly pending = new Map<number, { resolve(m: FromPeer): void; reject(e: Error): void }>();
  private nextId = 1;
  private broken: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: FromPeer) => {
      if (msg.type === 'ready') return;
      const p = this.pending.get(msg.id!);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.type === 'error') p.reject(new Error(msg.message));
      else p.resolve(msg);
    });
    const fail = (err: Error) => {
      this.broken = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`training peer thread exited (${code})`)));
  }

  static start(init: PeerInit): Promise<Peer> {
    const worker = new Worker(ENTRY, { workerData: init });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      worker.once('error', onError);
      worker.once('message', (msg: FromPeer) => {
        worker.off('error', onError);
        if (msg.type === 'ready') resolve(new Peer(worker));
        else reject(new Error(msg.type === 'error' ? msg.message : 'training peer failed to start'));
      });
    });
  }

  get healthy(): boolean {
    return !this.broken;
  }

  request<T extends FromPeer>(msg: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (m: FromPeer) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

function serialize(model: LayersModel, backend: string): SerializedModel {
  return { topology: model.toJSON(null, true) as string, weights: model.getWeights().map((w) => ownedData(w, backend)) };
}

/** Rows [start, end) of x as a transferable array. */
function rowsOf(x: Tensor, start: number, end: number, backend: string): Array32 {
  const slice = x.slice(start, end - start);
  const data = ownedData(slice, backend);
  slice.dispose();
  return { data, shape: slice.shape };
}

export class TrainingPeers implements GradientPeers {
  private loaded: WeakRef<Trainable> | undefined;

  private constructor(
    private readonly peers: Peer[],
    private readonly backend: string,
  ) {}

  /** Starts `count` peer threads on the same backend as this thread (a few seconds each, in parallel). */
  static async start(count: number, backend: BackendInfo): Promise<TrainingPeers> {
    const peers = await Promise.all(Array.from({ length: count }, () => Peer.start({ backend: backend.kind })));
    return new TrainingPeers(peers, backend.name);
  }

  /** Peer threads, not counting the caller's. */
  get size(): number {
    return this.peers.length;
  }

  get healthy(): boolean {
    return this.peers.every((p) => p.healthy);
  }

  /** Gives every peer a replica of these parts; a no-op when they already hold them. */
  async load(parts: Trainable): Promise<void> {
    if (this.loaded?.deref() === parts) return;
    const head = serialize(parts.head, this.backend);
    const base = parts.base ? serialize(parts.base, this.backend) : undefined;
    // Structured clone copies for each peer: nothing is transferred here.
    await Promise.all(this.peers.map((p) => p.request({ type: 'load', head, base })));
    this.loaded = new WeakRef(parts);
  }

  /** One request per peer (fewer when the batch is small); answers in the same order. */
  gradients(requests: GradRequest[]): Promise<PeerGrads[]> {
    return Promise.all(requests.map((r, j) => this.peers[j].request<PeerGrads>({ type: 'grads', ...r }, [r.x.data.buffer, r.y.data.buffer] as ArrayBuffer[])));
  }

  /** The loaded base's outputs for x: the peers and this thread each take a contiguous slice. */
  async features(base: LayersModel, x: Tensor): Promise<Tensor> {
    // Not worth a round trip for a few rows.
    if (x.shape[0] < 64 * (this.peers.length + 1)) return predictBatched(base, x);
    const ranges = splitRows(x.shape[0], this.peers.length + 1);
    const theirs = Promise.all(ranges.slice(1).map(([s, e], j) => {
      const rows = rowsOf(x, s, e, this.backend);
      return this.peers[j].request<Extract<FromPeer, { type: 'predict' }>>({ type: 'predict', x: rows }, [rows.data.buffer as ArrayBuffer]);
    }));
    const [s0, e0] = ranges[0];
    const mine = tf.tidy(() => predictBatched(base, x.slice(s0, e0 - s0)));
    const parts = [mine, ...(await theirs.catch((err) => {
      mine.dispose();
      throw err;
    })).map((r) => tf.tensor(r.y.data, r.y.shape))];
    const out = tf.concat(parts);
    tf.dispose(parts);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.terminate()));
  }
}

/**
 * Peers started on first use and kept for the process's later jobs (each
 * thread takes seconds to load tfjs); a pool with a dead thread is replaced.
 */
export function lazyPeers(count: number, backend: BackendInfo): () => Promise<TrainingPeers> {
  let pool: Promise<TrainingPeers> | undefined;
  return async () => {
    const current = await pool?.catch(() => undefined);
    if (current?.healthy) return current;
    await current?.close();
    pool = TrainingPeers.start(count, backend);
    return pool;
  };
}
