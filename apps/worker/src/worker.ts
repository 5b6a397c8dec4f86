// The BullMQ worker: picks jobs off the queue and runs each in a sandboxed
// child process. It also announces itself (and its tfjs backend) in Redis so
// the API's /readyz can list live workers.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { configToEnv, type Config } from '../../shared/config.ts';
import { createDb } from '../../shared/db/prisma.ts';
import type { Logger } from '../../shared/logger.ts';
import { initBackend, type BackendInfo } from '../../shared/ml/tf.ts';
import { createRedis, type JobPayload } from '../../shared/queue/contract.ts';
import { workerKey, type WorkerInfo } from '../../shared/queue/workers.ts';

const PROCESSOR = fileURLToPath(new URL('./sandbox.ts', import.meta.url));
const HEARTBEAT_MS = 5_000;

export interface RunningWorker {
  info: WorkerInfo;
  backend: BackendInfo;
  close(): Promise<void>;
}

export async function startWorker(config: Config, log: Logger): Promise<RunningWorker> {
  // The same choice the sandboxes will make; picked here to report it up front.
  const backend = await initBackend(config.tfBackend);
  const connection = createRedis(config, true);
  const info: WorkerInfo = {
    id: randomUUID(),
    host: hostname(),
    pid: process.pid,
    backend: backend.kind,
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
    workerForkOptions: { env: configToEnv(config), execArgv: ['--import', 'tsx'] },
  });
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  const db = createDb(config.databaseUrl, { poolMax: 2 });
  worker.on('failed', (job, err) => {
    log.warn({ jobId: job?.data.jobId, err: err.message }, 'queue attempt failed');
    // The sandbox records its own outcomes; this catches what it could not: a killed child, a job stalled too often.
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      const crashed = /exit code|stalled/i.test(err.message);
      db.job
        .updateMany({
          where: { id: job.data.jobId, status: { in: ['queued', 'running'] } },
          data: { status: 'failed', finishedAt: new Date(), errorCode: crashed ? 'worker_crashed' : 'internal_error', errorMessage: 'The training process died on its last attempt; see the worker log' },
        })
        .catch((e: Error) => log.error({ jobId: job.data.jobId, err: e.message }, 'could not record the failure'));
    }
  });
  worker.on('completed', (job, result) => log.info({ jobId: job.data.jobId, result }, 'queue job completed'));

  const beat = () => connection.set(workerKey(config.queueName, info.id), JSON.stringify(info), 'PX', HEARTBEAT_MS * 3).catch(() => undefined);
  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  log.info({ workerId: info.id, backend: backend.kind, concurrency: info.concurrency, queue: config.queueName }, 'worker started');

  return {
    info,
    backend,
    async close() {
      clearInterval(timer);
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
      await db.$disconnect().catch(() => undefined);
      await connection.del(workerKey(config.queueName, info.id)).catch(() => undefined);
      await connection.quit().catch(() => undefined);
    },
  };
}
