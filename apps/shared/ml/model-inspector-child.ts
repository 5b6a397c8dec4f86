// The model inspector's child process (spawned by model-inspector.ts): builds
// one untrusted LayersModel (or Graph model) with tfjs's pure-JS backend, answers with its
// summary, and exits. A watchdog thread enforces the time and memory limits
// from outside this event loop, which a hostile topology may never give back,
// and ends the process if its parent goes away.
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import './normalization-layer.ts';
import './keras-ops.ts';
import { summarize } from './model-summary.ts';
import { graphSummary } from './graph-summary.ts';
import { AppError } from '../errors.ts';
import { LIMIT_MARKER, WEIGHTS_FD, type InspectRequest, type InspectorMessage } from './model-inspector.ts';
import { runImport, type ImportRequest } from './model-inspector-import.ts';

const send = (msg: InspectorMessage, then?: () => void) => process.send!(msg, undefined, {}, () => then?.());

// Runs on its own thread, so it keeps time while tfjs holds the main one. It writes its reason
// with writeSync on fd 2 (a thread's process.stderr goes through the blocked main thread).
const WATCHDOG = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { ppid, marker } = workerData;
let deadline = Infinity;
let maxRss = Infinity;
parentPort.on('message', (m) => { deadline = Date.now() + m.timeoutMs; maxRss = m.memoryMb * 1048576; });
const stop = (why) => { if (why) writeSync(2, marker + ' ' + why + '\\n'); process.kill(process.pid, 'SIGKILL'); };
setInterval(() => {
  if (process.ppid !== ppid) stop();
  else if (Date.now() > deadline) stop('time');
  else if (process.memoryUsage.rss() > maxRss) stop('memory');
}, 25);
`;

if (!process.send) throw new Error('model-inspector-child runs under model-inspector.ts, with an IPC channel');
process.on('disconnect', () => process.exit(1));
const watchdog = new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid, marker: LIMIT_MARKER } });
watchdog.unref();

await tf.setBackend('cpu');

/** The weights, streamed by the parent on WEIGHTS_FD; exactly `bytes` of them. */
async function readWeights(bytes: number): Promise<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  let at = 0;
  for await (const chunk of createReadStream('', { fd: WEIGHTS_FD }) as AsyncIterable<Buffer>) {
    if (at + chunk.byteLength > bytes) throw new Error(`more weight bytes arrived than the ${bytes} announced`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== bytes) throw new Error(`${at} of ${bytes} weight bytes arrived`);
  return out.buffer;
}

process.once('message', async (req: InspectRequest | ImportRequest) => {
  watchdog.postMessage({ timeoutMs: req.timeoutMs, memoryMb: req.memoryMb });
  if (req.type === 'import') {
    send(await runImport(tf, req), () => process.exit(0));
    return;
  }
  // A broken stream is the pipe's fault, not the model's: exit without an answer (503 from the parent).
  const weightData = await readWeights(req.weightBytes).catch((err: Error) => {
    process.stderr.write(`weights stream: ${err.message}\n`, () => process.exit(1));
    return new Promise<never>(() => undefined);
  });
  let answer: InspectorMessage;
  try {
    const topology = JSON.parse(req.modelTopology);
    const artifacts = tf.io.fromMemory({ modelTopology: topology, weightSpecs: req.weightSpecs as tf.io.WeightsManifestEntry[], weightData });
    const summary = req.graph ? await graphSummary(tf, await tf.loadGraphModel(artifacts), topology, req.memoryMb * 2 ** 20, req.maxRows) : summarize(await tf.loadLayersModel(artifacts));
    answer = { type: 'summary', summary };
  } catch (err) {
    answer = err instanceof AppError
      ? { type: 'refused', code: err.code, statusCode: err.statusCode, message: err.message, details: err.details as Record<string, unknown> | undefined }
      : { type: 'invalid', message: (err as Error)?.message ?? String(err) };
  }
  send(answer, () => process.exit(0));
});
send({ type: 'ready' });
