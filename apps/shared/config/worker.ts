// Settings of the workers: how many jobs, how they are leased and retried, the
// threads and TensorFlow backend they train on, and `npm run native:install`.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { bool, int, oneOf, optionalStr, str } from './kinds.ts';

/** The repository's own cache folder (gitignored), wherever the process was started from. */
export const DEFAULT_NATIVE_DIR = fileURLToPath(new URL('../../../.native', import.meta.url));

export const TF_BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

export const workers = {
  worker: {
    concurrency: int('WORKER_CONCURRENCY', 1, { min: 1, doc: 'jobs one worker process runs at once (each in its own child process)' }),
    lockDurationMs: int('WORKER_LOCK_DURATION_MS', 60_000, {
      min: 5_000,
      doc: 'BullMQ lock, renewed from the parent process while the sandbox trains; a dead worker\'s job is picked up again after this',
    }),
    jobAttempts: int('JOB_ATTEMPTS', 3, { min: 1, doc: 'attempts for transient failures (bad input is never retried); also the stalled-job limit' }),
    cancelPollMs: int('CANCEL_POLL_MS', 500, { min: 50, doc: 'how often a running job checks Postgres for a cancel request, at most' }),
    leaseMs: int('JOB_LEASE_MS', 30_000, {
      min: 1_000,
      doc: 'a running job\'s lease in Postgres, renewed every third of it; past it, another worker may take the job',
    }),
    reconcileIntervalMs: int('RECONCILE_INTERVAL_MS', 15_000, {
      min: 100,
      doc: 'how often each worker re-enqueues jobs that Postgres says should run but Redis lost',
    }),
    trainThreads: int('TRAIN_THREADS', () => Math.min(8, availableParallelism()), {
      min: 1,
      shown: 'CPU count, at most 8',
      doc: 'threads one job trains on, data-parallel, on wasm or cpu (the GPU and native backends use their own); `1` turns it off',
    }),
    dataInMemoryBytes: int('DATA_IN_MEMORY_BYTES', 64 * 2 ** 20, {
      min: 0,
      shown: '67108864 (64 MiB)',
      doc: 'a job\'s data splits (training, validation, test) are read whole into memory while their decoded float32 sizes together fit this; the others are streamed from their shards a window at a time (docs/datasets.md#streaming)',
    }),
    parallelMinExamples: int('TRAIN_PARALLEL_MIN_EXAMPLES', 2048, {
      doc: 'smaller training sets stay on one thread: a batch\'s round trip would cost more than it saves',
    }),
  },
};

const tfNativeDir = str('TF_NATIVE_DIR', DEFAULT_NATIVE_DIR, {
  what: 'path',
  shown: '`.native` in the repository',
  doc: 'where `npm run native:install` puts native TensorFlow and the tfjs addon, and where training processes look for it',
});

export const tensorflow = {
  tfBackend: oneOf('TF_BACKEND', TF_BACKENDS, 'auto', { doc: 'which TensorFlow.js backend trains (see [TensorFlow.js backends](#tensorflowjs-backends))' }),
  tfNativeDir,
  // TensorFlow reads it from the environment of the process that trains, which the hand-off sets.
  tfGpuAllowGrowth: bool('TF_FORCE_GPU_ALLOW_GROWTH', true, {
    doc: 'native TensorFlow on a GPU takes memory as it needs it rather than all of it up front, so training processes can share a card; passed to every training process',
  }),
  // Also read by TensorFlow itself when the backend creates its context.
  tfIntraOpThreads: int('TF_NUM_INTRAOP_THREADS', () => availableParallelism(), {
    min: 1,
    shown: 'CPU count',
    doc: 'threads native TensorFlow splits one op over (its intra-op pool, as Keras\'s `set_intra_op_parallelism_threads`)',
  }),
  tfInterOpThreads: int('TF_NUM_INTEROP_THREADS', 1, {
    min: 1,
    doc: 'native TensorFlow\'s inter-op pool: tfjs runs one op at a time, so more threads there only wait',
  }),
};

/** What `npm run native:install` gets, from where (apps/native/install.ts). Not part of the service's Config. */
export const nativeInstall = {
  dir: tfNativeDir,
  wheel: optionalStr('TF_WHEEL', { what: 'path', doc: 'a TensorFlow wheel file to use instead of asking pip' }),
  pipSpec: str('TF_PIP_SPEC', 'tensorflow-cpu==2.21.0', {
    what: 'pip requirement',
    doc: 'what pip downloads; `tensorflow[and-cuda]==2.21.0` for GPUs (also installs CUDA and cuDNN from pip)',
  }),
  python: str('TF_PYTHON', 'python3', { what: 'command', doc: 'the Python whose pip is asked and which unpacks the wheel' }),
  // npm sets these for the scripts it runs.
  nodedir: optionalStr('npm_config_nodedir', { hidden: true, doc: 'Node\'s own headers for node-gyp (npm\'s nodedir setting); unset: beside this Node\'s binary' }),
  nodeGyp: optionalStr('npm_config_node_gyp', { hidden: true, doc: 'npm\'s bundled node-gyp' }),
  npmCli: optionalStr('npm_execpath', { hidden: true, doc: 'the npm running the script, to install tfjs-node with' }),
};
