// A data-parallel peer: holds a replica of the model being trained and, per
// batch, takes the latest weights and its shard and returns the shard's
// gradients. It also runs a frozen base over a slice of the data.
import { parentPort, workerData } from 'node:worker_threads';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { initBackend, tf } from '../../../shared/ml/tf.ts';
import { changingLayers, setUnfrozen, shardGradients, type Trainable } from '../pipeline/batch-gradients.ts';
import { predictBatched } from '../pipeline/scoring.ts';
import { ownedData, type Array32, type FromPeer, type PeerInit, type SerializedModel, type ToPeer } from './protocol.ts';

const port = parentPort!;
const init = workerData as PeerInit;
let replica: Trainable | undefined;

function post(msg: FromPeer, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function deserialize(m: SerializedModel): Promise<LayersModel> {
  const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(m.topology) });
  model.setWeights(model.weights.map((w, i) => tf.tensor(m.weights[i], w.shape as number[])));
  return model;
}

function dispose(r: Trainable | undefined): void {
  r?.head.dispose();
  r?.base?.dispose();
}

const toTensor = (a: Array32) => tf.tensor(a.data, a.shape);

function out(t: Tensor): Array32 {
  return { data: ownedData(t, tf.getBackend()), shape: t.shape };
}

function grads(msg: Extract<ToPeer, { type: 'grads' }>): void {
  const r = replica!;
  setUnfrozen(r.baseBlocks, msg.unfrozen);
  // The same layers, in the same order, as the training loop sent them.
  let k = 0;
  for (const layer of changingLayers(r, msg.unfrozen)) {
    const current = layer.getWeights();
    if (current.length === 0) continue;
    const next = current.map((w) => tf.tensor(msg.sync[k++], w.shape));
    layer.setWeights(next);
    tf.dispose(next);
  }
  const [x, y] = [toTensor(msg.x), toTensor(msg.y)];
  const classWeights = msg.classWeights ? tf.tensor1d(msg.classWeights) : undefined;
  try {
    const g = shardGradients(r, x, y, { unfrozen: msg.unfrozen, features: msg.features, classWeights, masks: msg.dropout });
    const arrays = g.grads.map((t) => ownedData(t, tf.getBackend()));
    const [loss, hits] = [g.loss.dataSync()[0], g.hits.dataSync()[0]];
    tf.dispose([g.loss, g.hits, ...g.grads]);
    post({ type: 'grads', id: msg.id, loss, hits, grads: arrays }, arrays.map((a) => a.buffer as ArrayBuffer));
  } finally {
    tf.dispose([x, y, ...(classWeights ? [classWeights] : [])]);
  }
}

async function handle(msg: ToPeer): Promise<void> {
  switch (msg.type) {
    case 'load': {
      dispose(replica);
      replica = undefined;
      const head = await deserialize(msg.head);
      const base = msg.base ? await deserialize(msg.base) : undefined;
      replica = { base, head, baseBlocks: base ? base.layers.filter((l) => l.countParams() > 0) : [] };
      post({ type: 'loaded', id: msg.id });
      return;
    }
    case 'grads':
      return grads(msg);
    case 'predict': {
      const x = toTensor(msg.x);
      const y = predictBatched(replica!.base!, x);
      const result = out(y);
      tf.dispose([x, y]);
      post({ type: 'predict', id: msg.id, y: result }, [result.data.buffer as ArrayBuffer]);
    }
  }
}

await initBackend(init.backend);
port.on('message', (msg: ToPeer) => {
  handle(msg).catch((err: Error) => post({ type: 'error', id: msg.id, message: err.message }));
});
post({ type: 'ready' });
