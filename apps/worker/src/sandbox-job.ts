// What a sandbox child does with a job (loaded by sandbox.ts once the child's
// process guards are in place): one context per child, then runJob, whose
// result it hands to BullMQ in BullMQ's terms (sandbox-outcomes.ts).
import { hostname } from 'node:os';
import type { SandboxedJob } from 'bullmq';
import { loadConfig } from '../../shared/config.ts';
import { createDb } from '../../shared/db/prisma.ts';
import { createLogger } from '../../shared/logger.ts';
import { initBackend } from '../../shared/ml/tf.ts';
import { ModelInspector } from '../../shared/ml/model-inspector.ts';
import type { JobPayload } from '../../shared/queue/contract.ts';
import { Storage } from '../../shared/storage/s3-storage.ts';
import { guardKernels } from './kernel-guard.ts';
import { runJob, type RunContext, type RunResult } from './run-job.ts';
import { resilientDb, resilientStorage } from '../../shared/faults/resilient.ts';
import { outagePolicy } from '../../shared/faults/ride-out.ts';
import { lazyPeers } from './parallel/training-peers.ts';
import { SandboxError, settleAttempt } from './sandbox-outcomes.ts';
import { sweepAdvancer } from './sweep-advancer.ts';

let context: Promise<RunContext> | undefined;

async function createContext(): Promise<RunContext> {
  // The parent passes its whole config through the environment (configToEnv).
  const config = loadConfig();
  if (!config.s3.endpoint) throw new Error('S3_ENDPOINT must be set for the sandbox');
  const log = createLogger(config, { role: 'sandbox', host: hostname(), pid: process.pid });
  const backend = await initBackend(config.tfBackend, config);
  guardKernels();
  log.info({ backend: backend.kind, skipped: backend.skipped }, 'sandbox ready');
  const policy = outagePolicy(config, {
    onWait: (dependency, downForMs, err) => log.warn({ dependency, downForMs, err: (err as Error)?.message }, 'dependency unavailable; waiting'),
    onRecovered: (dependency, downForMs) => log.info({ dependency, downForMs }, 'dependency available again'),
  });
  const db = resilientDb(createDb(config.databaseUrl), policy);
  return {
    // Postgres or S3 down: the job waits (up to OUTAGE_BUDGET_MS) at its next read or write, spending no attempt.
    db,
    advanceSweep: sweepAdvancer(config, db),
    storage: resilientStorage(new Storage({ ...config.s3, endpoint: config.s3.endpoint }), policy),
    log,
    backend,
    cancelPollMs: config.worker.cancelPollMs,
    outageRetryMs: config.outage.retryMaxMs,
    dataInMemoryBytes: config.worker.dataInMemoryBytes,
    leaseMs: config.worker.leaseMs,
    maxRunningPerTenant: config.limits.runningJobsPerTenant,
    inspector: new ModelInspector(config.modelInspector),
    // Only the single-threaded backends gain from more threads.
    parallel: config.worker.trainThreads > 1 && (backend.kind === 'wasm' || backend.kind === 'cpu')
      ? { peers: lazyPeers(config.worker.trainThreads - 1, backend), minExamples: config.worker.parallelMinExamples }
      : undefined,
  };
}

async function run(job: SandboxedJob<JobPayload>): Promise<{ result: RunResult; backend: string; outageRetryMs: number }> {
  try {
    context ??= createContext();
    const ctx = await context.catch((err) => {
      context = undefined; // let the next job try again
      throw err;
    });
    return { result: await runJob(ctx, job.data.jobId, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 }), backend: ctx.backend.kind, outageRetryMs: ctx.outageRetryMs };
  } catch (err) {
    throw new SandboxError(err);
  }
}

export async function runSandboxed(job: SandboxedJob<JobPayload>, token?: string) {
  const { result, backend, outageRetryMs } = await run(job);
  return settleAttempt(job, token, result, backend, { outageRetryMs });
}
