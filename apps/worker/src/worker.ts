// The BullMQ worker: picks jobs off the queue and runs each in a sandboxed
// child process. It also announces itself (and the backend and device its
// training processes run on) in Redis so the API's /readyz can list live
// workers. This process never loads TensorFlow: on a GPU that would be a
// second TensorFlow holding device memory beside the one that trains.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { configToEnv, type Config } from '../../shared/config.ts';
import { createDb } from '../../shared/db/prisma.ts';
import type { Logger } from '../../shared/logger.ts';
import { probeBackend, type ProbeResult } from '../../shared/ml/backend-probe.ts';
import { createQueue, createRedis, type JobPayload } from '../../shared/queue/contract.ts';
import { reconcile } from '../../shared/queue/reconcile.ts';
import { advanceRunningSweeps } from '../../shared/sweeps/advance.ts';
import { JobStore } from '../../shared/jobs/job-store.ts';
import { workerKey, type WorkerInfo } from '../../shared/queue/workers.ts';
import { stillActive, watchAttempts, type Bookkeeping } from './worker-attempts.ts';
import { Storage } from '../../shared/storage/s3-storage.ts';
import { watchDependencies } from './dependency-watch.ts';

const PROCESSOR = fileURLToPath(new URL('./sandbox.ts', import.meta.url));
/** How sandbox children start: TypeScript, and the guard that ends them with their worker. */
export const SANDBOX_EXEC_ARGV = ['--import', 'tsx', '--import', fileURLToPath(new URL('./sandbox-guard.mjs', import.meta.url))];
const HEARTBEAT_MS = 5_000;

export interface RunningWorker {
  info: WorkerInfo;
  /** The backend the training processes get, as the startup probe found it. */
  backend: ProbeResult['backend'];
  /** The dependencies this worker finds down (it takes no new jobs meanwhile). */
  down(): string[];
  close(): Promise<void>;
}

export async function startWorker(config: Config, log: Logger): Promise<RunningWorker> {
  // A short-lived child makes the choice the sandboxes will make and runs a matmul, so that
  // /readyz is right from the start and a forced backend that cannot be had stops the worker now.
  const probe = await probeBackend(configToEnv(config));
  if (probe.backend.skipped?.length) log.warn({ skipped: probe.backend.skipped }, `TF_BACKEND=auto passed over backends; training runs on ${probe.backend.kind}`);
  const connection = createRedis(config, true);
  const info = workerInfo(config, probe);
  const worker = bullWorker(config, connection);
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  const db = createDb(config.databaseUrl, { poolMax: 2 });
  const queueConnection = createRedis(config);
  const queue = createQueue(config, queueConnection);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const done = p.catch((err: Error) => log.error({ err: err.message }, 'bookkeeping after a queue event failed')).finally(() => pending.delete(done));
    pending.add(done);
  };
  const beat = () => connection.set(workerKey(config.queueName, info.id), JSON.stringify(info), 'PX', HEARTBEAT_MS * 3).catch(() => undefined);
  const b: Bookkeeping = { config, log, db, store: new JobStore(db), queue, info, active: new Set(), track, beat };
  watchAttempts(worker, b);

  const runReconcile = () => track(reconcile(db, queue, config).then((ids) => {
    if (ids.length) log.warn({ jobIds: ids }, 're-enqueued jobs that Postgres says should run but Redis had lost');
    // The backstop for sweeps: a trial cancelled on its own, or a worker that died before advancing its sweep.
    return advanceRunningSweeps(db, queue, config, (sweepId, err) => log.error({ sweepId, err: (err as Error)?.message ?? String(err) }, 'advancing a sweep failed'));
  }));
  runReconcile();
  const reconciler = setInterval(runReconcile, config.worker.reconcileIntervalMs);
  reconciler.unref();

  // While a dependency is down, take no new jobs (running ones wait it out); resume by ourselves.
  const storage = config.s3.endpoint ? new Storage({ ...config.s3, endpoint: config.s3.endpoint }) : undefined;
  const watch = pauseWhileDown(worker, { db, redis: queueConnection, storage, intervalMs: config.outage.probeIntervalMs, log });
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  log.info({ workerId: info.id, backend: info.backend, device: info.device, concurrency: info.concurrency, queue: config.queueName }, 'worker started');

  const close = async () => {
    clearInterval(timer);
    clearInterval(reconciler);
    watch.close();
    await drain(b, worker);
    await Promise.all(pending);
    await queue.close().catch(() => undefined);
    await queueConnection.quit().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
    storage?.destroy();
    await connection.del(workerKey(config.queueName, info.id)).catch(() => undefined);
    await connection.quit().catch(() => undefined);
  };
  return { info, backend: probe.backend, down: () => watch.down(), close };
}

/** What the heartbeat says about this worker: /readyz lists it. */
function workerInfo(config: Config, probe: ProbeResult): WorkerInfo {
  return {
    id: randomUUID(),
    host: hostname(),
    pid: process.pid,
    backend: probe.backend.kind,
    device: probe.device,
    concurrency: config.worker.concurrency,
    startedAt: new Date().toISOString(),
  };
}

/** Takes no new jobs while Postgres, Redis or S3 is down, and starts again once they are back. */
function pauseWhileDown(worker: Worker<JobPayload>, deps: Omit<Parameters<typeof watchDependencies>[0], 'onChange'>) {
  return watchDependencies({
    ...deps,
    onChange: async (down) => {
      if (down.length) return worker.pause(true);
      worker.resume();
      // BullMQ's loop may have been on its way out when resume() came: start it again if it is not running.
      setTimeout(() => { if (!worker.isRunning() && !worker.closing) void worker.run().catch((err: Error) => deps.log.warn({ err: err.message }, 'worker did not restart')); }, 1_000).unref();
    },
  });
}

function bullWorker(config: Config, connection: Redis): Worker<JobPayload> {
  return new Worker<JobPayload>(config.queueName, PROCESSOR, {
    connection,
    concurrency: config.worker.concurrency,
    // The parent renews the lock while the child trains; a dead worker's job is picked up after this.
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: Math.max(5_000, Math.floor(config.worker.lockDurationMs / 2)),
    maxStalledCount: config.worker.jobAttempts,
    useWorkerThreads: false,
    workerForkOptions: { env: configToEnv(config), execArgv: SANDBOX_EXEC_ARGV },
  });
}

/** Asks the running jobs to finish their batch, checkpoint and go back to the queue, and waits for them up to the grace period. */
async function drain(b: Bookkeeping, worker: Worker<JobPayload>): Promise<void> {
  const held = await stillActive(b.queue, b.active);
  if (held.length) {
    // Queued too: a job this worker took whose training process has not claimed it yet stops at its first batch.
    await b.store.requestInterrupt({ id: { in: held }, status: { in: ['queued', 'running'] }, interruptRequest: null }, 'shutdown')
      .catch((err: Error) => b.log.error({ err: err.message }, 'could not ask running jobs to hand back'));
  }
  const graceful = worker.close();
  const timedOut = await Promise.race([
    graceful.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), b.config.shutdownTimeoutMs).unref()),
  ]);
  // BullMQ's close() cannot be hurried once called; past the deadline we return, the
  // process exits, and its sandboxes exit with it (they watch the IPC channel). The
  // job's lock lapses and another worker retries it.
  if (timedOut) b.log.warn('jobs still running at the shutdown deadline; leaving them to be retried');
}
