// The BullMQ worker: picks jobs off the queue and runs each in a sandboxed
// child process. It also announces itself (and its tfjs backend) in Redis so
// the API's /readyz can list live workers.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { configToEnv, type Config } from '../../shared/config.ts';
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
  worker.on('failed', (job, err) => log.warn({ jobId: job?.data.jobId, err: err.message }, 'queue attempt failed'));
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
      if (timedOut) {
        log.warn('jobs still running at the shutdown deadline; stopping them');
        await worker.close(true);
      }
      await connection.del(workerKey(config.queueName, info.id)).catch(() => undefined);
      await connection.quit().catch(() => undefined);
    },
  };
}
