// Builds an untrusted LayersModel with tfjs in a short-lived child process
// (model-inspector-child.ts) and returns its summary. tfjs runs a model's
// topology as code: a graph it cannot finish building spins at 100% CPU, and
// a topology can make it allocate past any budget. In a child, that costs the
// child: it is killed at MODEL_INSPECT_TIMEOUT_MS or MODEL_INSPECT_MEMORY_MB
// (422 model_invalid), while the caller's event loop (the API's /healthz, the
// embedded S3 of `npm start`) goes on. A child that cannot start or dies for
// any other reason is the service's fault: 503 model_inspector_unavailable.
import { fork, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { sandboxEnv, type Config } from '../config.ts';
import { AppError, TransientError, UnprocessableError, type ErrorCode } from '../errors.ts';
import type { LoadedFiles } from './stored-model.ts';
import type { WeightSpec } from './model-files.ts';
import type { ModelSummary } from './model-summary.ts';
import type { ImportRequest, ImportedFiles } from './model-inspector-import.ts';

const CHILD = fileURLToPath(new URL('./model-inspector-child.ts', import.meta.url));
/** Node, tsx and tfjs must be up by then; past it the machine is in trouble, not the model. */
const STARTUP_MS = 60_000;
/** The child enforces the limits itself; the parent's own timer is the backstop. */
const BACKSTOP_MS = 2_000;
const STDERR_KEEP = 4_096;
/** The child's file descriptor that the weights arrive on, as a byte stream. */
export const WEIGHTS_FD = 4;

export type InspectorLimits = Config['modelInspector'];

/** Parent → child, once the child says it is ready. */
export interface InspectRequest {
  type: 'inspect';
  /** JSON text: no structured-clone walk over a topology the parent has not built. */
  modelTopology: string;
  weightSpecs: WeightSpec[];
  /** How many bytes follow on WEIGHTS_FD: streamed, so the parent never serializes a large model on its event loop. */
  weightBytes: number;
  timeoutMs: number;
  memoryMb: number;
  /** A Graph model: built with tf.loadGraphModel and run once on zeros (graph-summary.ts). */
  graph?: boolean;
  /** A Graph model's candidate nodes recorded (MAX_MODEL_LAYERS): those nearest its output. */
  maxRows?: number;
}

/** Child → parent; `refused`: an import's own 4xx, code and all. */
export type InspectorMessage =
  | { type: 'ready' }
  | { type: 'summary'; summary: ModelSummary }
  | { type: 'imported'; files: ImportedFiles }
  | { type: 'invalid'; message: string }
  | { type: 'refused'; code: ErrorCode; statusCode: number; message: string; details?: Record<string, unknown> };

/** What the child's watchdog writes to stderr (fd 2, synchronously) just before it kills the child. */
export const LIMIT_MARKER = 'model-inspector limit:';

function overLimit(kind: 'time' | 'memory', limits: InspectorLimits): UnprocessableError {
  const [setting, limit, what] = kind === 'time'
    ? ['MODEL_INSPECT_TIMEOUT_MS', limits.timeoutMs, `did not finish building within ${limits.timeoutMs} ms`]
    : ['MODEL_INSPECT_MEMORY_MB', limits.memoryMb, `needed more than ${limits.memoryMb} MiB to build`];
  return new UnprocessableError('model_invalid', `TensorFlow.js ${what}; the model was stopped (${setting})`, { fault: kind === 'time' ? 'timeout' : 'memory', setting, limit });
}

function unavailable(reason: string): TransientError {
  return new TransientError('model_inspector_unavailable', `The model inspector failed: ${reason}`);
}

function request(files: LoadedFiles, limits: InspectorLimits, maxRows?: number): InspectRequest {
  const { modelJson, weights } = files;
  return {
    type: 'inspect',
    graph: modelJson.format === 'graph-model',
    modelTopology: JSON.stringify(modelJson.modelTopology),
    weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
    weightBytes: weights.byteLength,
    timeoutMs: limits.timeoutMs,
    memoryMb: limits.memoryMb,
    maxRows,
  };
}

/** Why a child ended without an answer: over a limit (the model's fault), or broken (ours). */
function verdict(stderr: string, killedFor: 'time' | 'startup' | undefined, exit: string, limits: InspectorLimits): Error {
  const marker = new RegExp(`${LIMIT_MARKER} (time|memory)`).exec(stderr)?.[1] as 'time' | 'memory' | undefined;
  if (marker) return overLimit(marker, limits);
  if (killedFor === 'time') return overLimit('time', limits);
  // V8 aborts when the model's JavaScript objects pass --max-old-space-size.
  if (/heap out of memory|Reached heap limit/i.test(stderr)) return overLimit('memory', limits);
  return unavailable(killedFor === 'startup' ? `it did not start within ${STARTUP_MS} ms` : `it exited (${exit}) without an answer: ${stderr.trim().slice(-300)}`);
}

/** Runs one child to its answer, or kills it. */
function runChild<T>(payload: InspectRequest | ImportRequest, weights: Uint8Array | undefined, limits: InspectorLimits, entry: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = fork(entry, [], {
        execArgv: ['--import', 'tsx', `--max-old-space-size=${limits.memoryMb}`],
        // Nothing of the service's configuration (keys, credentials) reaches the child.
        env: sandboxEnv(),
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'],
      });
    } catch (err) {
      reject(unavailable((err as Error).message));
      return;
    }
    const weightsOut = child.stdio[WEIGHTS_FD] as Writable;
    // A child that dies mid-stream breaks the pipe; 'close' below says why it died.
    weightsOut.on('error', () => undefined);
    let stderr = '';
    let killedFor: 'time' | 'startup' | undefined;
    let done = false;
    const finish = (result: Error | T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Its answer is in: nothing it does from here matters.
      child.kill('SIGKILL');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const kill = (why: NonNullable<typeof killedFor>) => {
      killedFor ??= why;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(() => kill('startup'), STARTUP_MS);
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_KEEP)));
    child.on('message', (msg: InspectorMessage) => {
      if (msg.type === 'ready') {
        clearTimeout(timer);
        timer = setTimeout(() => kill('time'), limits.timeoutMs + BACKSTOP_MS);
        child.send(payload, (err) => err && kill('startup'));
        // Written by libuv as the pipe drains, off this event loop's critical path.
        if (weights) weightsOut.end(weights);
        else weightsOut.end();
      } else if (msg.type === 'summary') {
        finish(msg.summary as T);
      } else if (msg.type === 'imported') {
        finish(msg.files as T);
      } else if (msg.type === 'refused') {
        finish(new AppError(msg.code, msg.message, msg.statusCode >= 400 && msg.statusCode < 500 ? msg.statusCode : 422, msg.details));
      } else if (msg.type === 'invalid') {
        finish(new UnprocessableError('model_invalid', `TensorFlow.js cannot build the model: ${String(msg.message).slice(0, 300)}`, { fault: 'tfjs' }));
      }
    });
    child.on('error', (err) => finish(unavailable(err.message)));
    // 'close', not 'exit': the watchdog's last words on stderr are in by then.
    child.on('close', (code, signal) => finish(verdict(stderr, killedFor, String(signal ?? code), limits)));
  });
}

/** At most `concurrency` children at once; the rest wait their turn. */
export class ModelInspector {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /** `entry`: the child's script; tests hand it a broken one. */
  constructor(readonly limits: InspectorLimits, private readonly entry = CHILD) {}

  /** A LayersModel's summary, or a Graph model's (its nodes as the rows: graph-summary.ts). */
  async inspect(files: LoadedFiles, opts: { maxRows?: number } = {}): Promise<ModelSummary> {
    return this.run(request(files, this.limits, opts.maxRows), files.weights);
  }

  /** A Keras file (.keras or .h5) → LayersModel files and their summary, parsed and built in the child. */
  async importKeras(req: Omit<ImportRequest, 'type' | 'timeoutMs' | 'memoryMb'>): Promise<ImportedFiles> {
    return this.run({ ...req, type: 'import', timeoutMs: this.limits.timeoutMs, memoryMb: this.limits.memoryMb }, undefined);
  }

  private async run<T>(payload: InspectRequest | ImportRequest, weights: Uint8Array | undefined): Promise<T> {
    // A finishing run hands its slot straight to the next in line.
    if (this.running >= this.limits.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await runChild<T>(payload, weights, this.limits, this.entry);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
