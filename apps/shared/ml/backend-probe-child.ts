// Run by probeBackend() as a child process: picks the backend exactly as a
// training process would (same config, same environment), runs one matmul,
// and prints one JSON line. Native TensorFlow logs where it ran the matmul on
// stderr (TF_CPP_VMODULE=execute=1, set by the parent), which the parent reads.
import { loadConfig } from '../config.ts';
import { describeDevice } from './device.ts';
import { initBackend, tf } from './tf.ts';

try {
  const config = loadConfig();
  const backend = await initBackend(config.tfBackend, config);
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const product = tf.matMul(a, a);
  const values = Array.from(await product.data());
  process.stdout.write(`${JSON.stringify({ ok: true, backend, device: await describeDevice(), matmul: values })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
  process.exitCode = 1;
}
