// Native TensorFlow reads its settings from the C environment when the backend creates
// its context, not from our Config: this hands them over, from the config module, which
// is the one place that touches process.env.

/** The settings native TensorFlow takes from its environment. */
export interface TfEnvironment {
  tfGpuAllowGrowth: boolean;
  tfIntraOpThreads?: number;
  tfInterOpThreads?: number;
  /** Native on the CPU even where TensorFlow could see a GPU. */
  hideGpus: boolean;
}

/** Sets TF_* and CUDA_VISIBLE_DEVICES in `env` (this process's) before the addon loads. */
export function applyTfEnvironment(opts: TfEnvironment, env: NodeJS.ProcessEnv = process.env): void {
  env.TF_FORCE_GPU_ALLOW_GROWTH = String(opts.tfGpuAllowGrowth);
  if (opts.hideGpus) env.CUDA_VISIBLE_DEVICES = '-1';
  if (opts.tfIntraOpThreads) env.TF_NUM_INTRAOP_THREADS = String(opts.tfIntraOpThreads);
  if (opts.tfInterOpThreads) env.TF_NUM_INTEROP_THREADS = String(opts.tfInterOpThreads);
}
