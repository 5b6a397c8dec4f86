// tfjs reports a kernel its backend lacks as a plain Error, known only by its
// text. The guard wraps the engine's kernel dispatch (once per process) so the
// same failure throws a KernelUnavailableError naming the kernel and backend:
// the worker decides on types, never on messages. On the path that works it
// adds nothing but a try.
import { tf } from '../../shared/ml/tf.ts';

export class KernelUnavailableError extends Error {
  constructor(
    readonly kernel: string,
    readonly backend: string,
  ) {
    super(`Kernel '${kernel}' not registered for backend '${backend}'`);
    this.name = 'KernelUnavailableError';
  }
}

interface KernelDispatch {
  runKernel(kernelName: string, inputs: unknown, attrs: unknown): unknown;
}

const guarded = new WeakSet<object>();

export function guardKernels(): void {
  const engine = tf.engine() as unknown as KernelDispatch;
  if (guarded.has(engine)) return;
  guarded.add(engine);
  const dispatch = engine.runKernel.bind(engine);
  engine.runKernel = (kernelName, inputs, attrs) => {
    try {
      return dispatch(kernelName, inputs, attrs);
    } catch (err) {
      // Only where the kernel itself is missing: an op above it rethrows what it got.
      if (err instanceof KernelUnavailableError) throw err;
      const backend = tf.getBackend();
      if (tf.getKernel(kernelName, backend) === undefined) throw new KernelUnavailableError(kernelName, backend);
      throw err;
    }
  };
}
