// How a Graph model's memory grows with the batch. The worker runs a graph
// base in chunks of up to GRAPH_CHUNK rows (scoring, the feature pass); a
// graph whose nodes mix the examples (x·xᵀ, a Tile by the batch) needs memory
// that grows faster than the batch, so a run at batch 2 or 3 tells nothing
// about batch 256. Registration measures tfjs' peak bytes at a few batch sizes
// and refuses a graph whose growth is not linear, or whose extrapolated peak
// for one example passes the inspector's memory budget; the worker measures
// the same slope and splits a chunk so it stays under the budget
// (graph-base.ts). One example, not GRAPH_CHUNK of them: an honest image
// graph needs megabytes per example, so 256 of them pass the default budget,
// and the worker's split makes any linear graph that fits one example safe.
import type * as tfjs from '@tensorflow/tfjs';
import { UnprocessableError } from '../errors.ts';

/** The most rows the worker hands a graph at once (predictBatched's chunk). */
export const GRAPH_CHUNK = 256;
/** MODEL_INSPECT_MEMORY_MB's default: a worker run without an inspector (tests) still splits. */
export const DEFAULT_GRAPH_BUDGET_MB = 1024;
/** The batch sizes registration measures at. */
const BATCHES = [1, 2, 4] as const;
/** Kernel scratch and rounding: this many bytes of curvature are not "superlinear". */
const SLACK_BYTES = 1024;

/** tfjs' peak bytes above what was allocated before, running the graph to `nodes` on `batch` zeros. */
export async function peakBytes(tf: typeof tfjs, model: tfjs.GraphModel, dims: number[], batch: number, nodes: string | string[]): Promise<number> {
  const x = tf.zeros([batch, ...dims]);
  try {
    const resting = tf.memory().numBytes;
    const info = await tf.profile(() => tf.dispose(model.execute(x, nodes)));
    return Math.max(0, info.peakBytes - resting);
  } finally {
    x.dispose();
  }
}

/** The most rows one run of the graph to `node` may take within `budgetBytes`: 1 to GRAPH_CHUNK (the worker's guard). */
export async function safeChunk(tf: typeof tfjs, model: tfjs.GraphModel, dims: number[], node: string, budgetBytes: number): Promise<number> {
  const [one, two] = [await peakBytes(tf, model, dims, 1, node), await peakBytes(tf, model, dims, 2, node)];
  // A fixed cost counts as per-example too: the estimate errs on the small side.
  const perExample = Math.max(two - one, two / 2, 1);
  return Math.max(1, Math.min(GRAPH_CHUNK, Math.floor(budgetBytes / perExample)));
}

/**
 * Refuses a graph whose memory is not linear in the batch, or too large for one example. `nodes`:
 * every node a head may sit on, all run at once, so a side branch no output reads is measured too.
 */
export async function checkGraphMemory(tf: typeof tfjs, model: tfjs.GraphModel, dims: number[], nodes: string[], budgetBytes: number): Promise<void> {
  const peaks: number[] = [];
  for (const b of BATCHES) peaks.push(await peakBytes(tf, model, dims, b, nodes));
  const [p1, p2, p4] = peaks;
  const measured = Object.fromEntries(BATCHES.map((b, i) => [b, peaks[i]]));
  // Linear growth: 2 more examples (2 → 4) cost twice what 1 more (1 → 2) did.
  if (p4 - p2 > 2 * (p2 - p1) * 1.25 + SLACK_BYTES) {
    throw new UnprocessableError('model_unsupported', `The graph's memory grows faster than its batch (peak bytes at batch 1, 2, 4: ${p1}, ${p2}, ${p4}); only graphs that run each example on its own can be frozen bases`, {
      fault: 'graph_superlinear', peakBytes: measured,
    });
  }
  const atChunk = Math.round(p4 + ((p4 - p2) / 2) * (GRAPH_CHUNK - 4));
  if (p1 > budgetBytes) {
    throw new UnprocessableError('model_unsupported', `The graph needs ${p1} bytes for one example (about ${atChunk} for a chunk of ${GRAPH_CHUNK}; peak bytes at batch 1, 2, 4: ${p1}, ${p2}, ${p4}); the budget is ${budgetBytes} bytes (MODEL_INSPECT_MEMORY_MB)`, {
      fault: 'graph_memory', peakBytes: measured, chunk: GRAPH_CHUNK, estimatedBytes: atChunk, budgetBytes,
    });
  }
}
