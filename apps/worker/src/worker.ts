// The BullMQ worker: picks jobs off the queue and runs each in a sandboxed
// child process. It also announces itself (and the backend and device its
// training processes run on) in Redis so the API's /readyz can list live
// workers. This process never loads TensorFlow: on a GPU that would be a
// second TensorFlow holding device memory beside the one that trains.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { configToEnv, type Config } from '../../shared/config.ts';
import { createDb } from '../../shared/db/prisma.ts';
import type { Logger } from '../../shared/logger.ts';
import { probeBackend, type ProbeResult } from '../../shared/ml/backend-probe.ts';
import { createQueue, createRedis, type JobPayload } from '../../shared/queue/contract.ts';
import { ensureEnqueued, reconcile } from '../../shared/queue/reconcile.ts';
import { failedFields, JobStore } from '../../shared/jobs/job-store.ts';
import { workerKey, type WorkerInfo } from '../../shared/queue/workers.ts';

const PROCESSOR = fileURLToPath(new URL('./sandbox.ts', import.meta.url));
/** How sandbox children start: TypeScript, and the guard that ends them with their worker. */
export const SANDBOX_EXEC_ARGV = ['--import', 'tsx', '--import', fileURLToPath(new URL('./sandbox-guard.mjs', import.meta.url))];
const HEARTBEAT_MS = 5_000;
/** How long a job deferred by MAX_RUNNING_JOBS_PER_TENANT waits before a worker tries it again. */
const DEFER_MS = 2_000;

export interface RunningWorker {
  info: WorkerInfo;
  /** The backend the training processes get, as the startup probe found it. */
  backend: ProbeResult['backend'];
  close(): Promise<void>;
}

export async function startWorker(config: Config, log: Logger): Promise<RunningWorker> {
  // A short-lived child makes the choice the sandboxes will make and runs a matmul, so that
  // /readyz is right from the start and a forced backend that cannot be had stops the worker now.
  const probe = await probeBackend(configToEnv(config));
  if (probe.backend.skipped?.length) log.warn({ skipped: probe.backend.skipped }, `TF_BACKEND=auto passed over backends; training runs on ${probe.backend.kind}`);
  const connection = createRedis(config, true);
  const info: WorkerInfo = {
    id: randomUUID(),
    host: hostname(),
    pid: process.pid,
    backend: probe.backend.kind,
    device: probe.device,
    concurrency: config.worker.concurrency,
    startedAt: new Date().toISOString(),
  };
  const worker = new Worker<JobPayload>(config.queueName, PROCESSOR, {
    connection,
    concurrency: config.worker.concurrency,
    // The parent renews the lock while the child trains; a dead worker's job is picked up after this.
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: Math.max(5_000, Math.floor(config.worker.lockDurationMs / 2)),
    maxStalledCount: config.worker.jobAttempts,
    useWorkerThreads: false,
    workerForkOptions: { env: configToEnv(config), execArgv: SANDBOX_EXEC_ARGV },
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  const db = createDb(config.databaseUrl, { poolMax: 2 });
  const store = new JobStore(db);
  const queueConnection = createRedis(config);
  const queue = createQueue(config, queueConnection);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));
  // Jobs this process holds: on shutdown they are asked to checkpoint and go back to the queue.
  const active = new Set<string>();
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const done = p.catch((err: Error) => log.error({ err: err.message }, 'bookkeeping after a queue event failed')).finally(() => pending.delete(done));
    pending.add(done);
  };
  worker.on('active', (job) => active.add(job.data.jobId));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const jobId = job.data.jobId;
    active.delete(jobId);
    log.warn({ jobId, err: err.message }, 'queue attempt failed');
    // The sandbox records its own outcomes; this catches what it could not: a killed child, a job stalled too often.
    const crashed = /exit code|stalled|signal/i.test(err.message);
    if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
      const code = crashed ? 'worker_crashed' : 'internal_error';
      track(store.transition(db, jobId, ['queued', 'running'], 'failed', failedFields(code, 'The training process died on its last attempt; see the worker log'), { event: { code } }));
    } else if (crashed) {
      // Its training process is dead, so nobody holds the lease: the retry need not wait for it to lapse.
      track(db.job.updateMany({ where: { id: jobId, status: 'running' }, data: { leaseExpiresAt: new Date() } }));
    }
  });
  worker.on('completed', (job, result: { outcome?: string; backend?: string } | undefined) => {
    active.delete(job.data.jobId);
    // What a training process really got; it differs from the probe's only if the machine changed under us.
    if (result?.backend && result.backend !== info.backend) {
      log.warn({ probed: info.backend, got: result.backend }, 'a training process got another backend than the startup probe');
      info.backend = result.backend;
      info.device = 'unknown (differs from the startup probe)';
      void beat();
    }
    log.info({ jobId: job.data.jobId, result }, 'queue job completed');
    // A shutdown checkpointed it and set it queued in Postgres; put it back in Redis for another worker.
    if (result?.outcome === 'handed_back') track(ensureEnqueued(queue, config, job.data.jobId));
    // Its tenant was at MAX_RUNNING_JOBS_PER_TENANT: try again shortly. Postgres still says queued,
    // so if this process dies first, the reconciler enqueues it instead.
    if (result?.outcome === 'deferred') track(ensureEnqueued(queue, config, job.data.jobId, DEFER_MS));
  });

  const runReconcile = () => track(reconcile(db, queue, config).then((ids) => {
    if (ids.length) log.warn({ jobIds: ids }, 're-enqueued jobs that Postgres says should run but Redis had lost');
  }));
  runReconcile();
  const reconciler = setInterval(runReconcile, config.worker.reconcileIntervalMs);
  reconciler.unref();

  const beat = () => connection.set(workerKey(config.queueName, info.id), JSON.stringify(info), 'PX', HEARTBEAT_MS * 3).catch(() => undefined);
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  log.info({ workerId: info.id, backend: info.backend, device: info.device, concurrency: info.concurrency, queue: config.queueName }, 'worker started');

  return {
    info,
    backend: probe.backend,
    async close() {
      clearInterval(timer);
      clearInterval(reconciler);
      // Ask our running jobs to finish their batch, checkpoint, and go back to the queue.
      if (active.size) {
        // Queued too: a job this worker took whose training process has not claimed it yet stops at its first batch.
        await store.requestInterrupt({ id: { in: [...active] }, status: { in: ['queued', 'running'] }, interruptRequest: null }, 'shutdown')
          .catch((err: Error) => log.error({ err: err.message }, 'could not ask running jobs to hand back'));
      }
      // Wait for running jobs up to the grace period, then stop them; their locks lapse and another worker retries them.
      const graceful = worker.close();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), config.shutdownTimeoutMs).unref()),
      ]);
      // BullMQ's close() cannot be hurried once called; past the deadline we return, the
      // process exits, and its sandboxes exit with it (they watch the IPC channel). The
      // job's lock lapses and another worker retries it.
      if (timedOut) log.warn('jobs still running at the shutdown deadline; leaving them to be retried');
      await Promise.all(pending);
      await queue.close().catch(() => undefined);
      await queueConnection.quit().catch(() => undefined);
      await db.$disconnect().catch(() => undefined);
      await connection.del(workerKey(config.queueName, info.id)).catch(() => undefined);
      await connection.quit().catch(() => undefined);
    },
  };
}
