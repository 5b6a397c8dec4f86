// The model inspector builds untrusted models with tfjs in a child process:
// a topology that makes tfjs spin is killed at the time limit while this
// process's event loop keeps running; one that needs too much memory is
// killed at the memory limit; tfjs's own refusals are 422s; a child that dies
// for any other reason is a 503. No services needed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AppError } from '../apps/shared/errors.ts';
import { ModelInspector, type InspectorLimits } from '../apps/shared/ml/model-inspector.ts';
import type { LoadedFiles } from '../apps/shared/ml/s3-io-handler.ts';
import { checkModelGraph } from '../apps/shared/ml/model-graph.ts';
import { DANGLING_INPUT } from './helpers/hostile-models.ts';

const LIMITS: InspectorLimits = { timeoutMs: 1_000, memoryMb: 256, concurrency: 2 };

/** model.json + weights for a Dense from `inputs` to `units`, weights all zero. */
function dense(units: number, inputs = 4, topology?: Record<string, unknown>): LoadedFiles {
  return {
    modelJson: {
      modelTopology: topology ?? { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units, batch_input_shape: [null, inputs] } }] } },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'd/kernel', shape: [inputs, units], dtype: 'float32' }, { name: 'd/bias', shape: [units], dtype: 'float32' }] }],
    },
    weights: new Uint8Array((inputs + 1) * units * 4),
  };
}

/** The inspector's children still alive under this process. */
function children(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).trim();
  return out.split('\n').filter((l) => l.includes('model-inspector-child'));
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  return err;
}

describe('model inspector', () => {
  it('builds an honest model and answers with its summary', async () => {
    const summary = await new ModelInspector(LIMITS).inspect(dense(3));
    assert.deepEqual(summary.inputShape, [null, 4]);
    assert.deepEqual(summary.outputShape, [null, 3]);
    assert.equal(summary.totalParams, 15);
    assert.deepEqual(summary.layers.map((l) => [l.name, l.className, l.params]), [['d', 'Dense', 15]]);
  });

  it("kills a topology that makes tfjs spin (the issue's reproducer, unchecked) at the time limit, and this event loop never stalls", async () => {
    // The graph check refuses it; the inspector is the second depth, so it is handed the files as they are.
    assert.throws(() => checkModelGraph(DANGLING_INPUT));
    let maxGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    const err = await refusal(new ModelInspector(LIMITS).inspect(dense(2, 4, DANGLING_INPUT)));
    clearInterval(ticker);
    assert.equal(err.statusCode, 422);
    assert.equal(err.code, 'model_invalid');
    assert.deepEqual(err.details, { fault: 'timeout', setting: 'MODEL_INSPECT_TIMEOUT_MS', limit: 1_000 });
    assert.ok(performance.now() - started >= 1_000, 'it ran until the limit');
    assert.ok(maxGap < 500, `this process's event loop stalled for ${Math.round(maxGap)} ms`);
    assert.deepEqual(children(), [], 'the spinning child is gone');
  });

  it('kills a model that needs more memory than the limit', async () => {
    // 20M float32 weights (80 MB): the child holds them at least twice (as they arrive on the pipe,
    // and as tensors), on top of ~200 MiB of node and tfjs.
    const err = await refusal(new ModelInspector({ ...LIMITS, timeoutMs: 60_000 }).inspect(dense(4_000_000)));
    assert.equal(err.statusCode, 422);
    assert.deepEqual(err.details, { fault: 'memory', setting: 'MODEL_INSPECT_MEMORY_MB', limit: 256 });
    assert.deepEqual(children(), []);
  });

  it("passes tfjs's own refusal on as 422 model_invalid", async () => {
    const files = dense(3);
    files.modelJson.weightsManifest[0].weights[0].shape = [3, 4]; // same bytes, transposed
    const err = await refusal(new ModelInspector(LIMITS).inspect(files));
    assert.equal(err.statusCode, 422);
    assert.equal(err.code, 'model_invalid');
    assert.equal((err.details as { fault: string }).fault, 'tfjs');
  });

  it('answers 503 model_inspector_unavailable when the child dies without an answer', async () => {
    const broken = fileURLToPath(new URL('./fixtures/inspector-child-that-dies.ts', import.meta.url));
    const err = await refusal(new ModelInspector(LIMITS, broken).inspect(dense(3)));
    assert.equal(err.statusCode, 503);
    assert.equal(err.code, 'model_inspector_unavailable');
    assert.equal(err.retryable, true);
  });

  it('runs at most `concurrency` children at once; the rest wait and still get their answers', async () => {
    const inspector = new ModelInspector({ ...LIMITS, timeoutMs: 20_000, concurrency: 1 });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, children().length)), 50);
    const summaries = await Promise.all([1, 2, 3].map((units) => inspector.inspect(dense(units))));
    clearInterval(sampler);
    assert.deepEqual(summaries.map((s) => s.totalParams), [5, 10, 15]);
    assert.equal(most, 1, 'one child at a time');
  });
});
