// How a job that did not succeed ends: a stop request honoured (cancel, pause,
// shutdown, a lost lease), or a failure, which fails the job or, while it has
// attempts left and the failure is transient, sends it back to the queue.
import { AppError, UnprocessableError } from '../../../shared/errors.ts';
import type { BackendInfo } from '../../../shared/ml/tf.ts';
import { LeaseLostError } from '../job-records.ts';
import { KernelUnavailableError } from '../kernel-guard.ts';
import type { StopReason } from '../pipeline/train.ts';
import type { RunResult, StageContext } from './context.ts';
import { settleOutage } from '../outage-outcome.ts';

/** A kernel the backend lacks is a property of the job, not a blip: it fails, and is not retried. */
export function classify(err: unknown, backend: BackendInfo, graphBase = false): unknown {
  if (!(err instanceof KernelUnavailableError)) return err;
  // A Graph model base is frozen whole: the kernel is one of its ops (or the head's), and nothing can be unfrozen.
  const advice = graphBase
    ? "which this job's Graph model base or its head needs; choose another cutLayer node or head, or run the worker with another TF_BACKEND."
    : "which this job's trainable layers need. Freeze those layers, or run the worker with another TF_BACKEND.";
  return new UnprocessableError('kernel_unavailable', `The ${err.backend} backend has no ${err.kernel} kernel, ${advice}`, { kernel: err.kernel, backend: backend.kind });
}

export async function settleFailure(s: StageContext, raw: unknown): Promise<RunResult> {
  if (raw instanceof LeaseLostError) throw raw;
  const { records, log, attempt, claim } = s;
  // Postgres, Redis or S3 down is never the job's fault: no attempt is spent on it.
  const outage = await settleOutage(raw, records, log);
  if (outage === 'outage') return { outcome: 'outage' };
  if (outage === 'failed') return { outcome: 'failed', code: 'dependency_unavailable', message: (raw as Error).message };
  const err = classify(raw, s.run.backend, s.job.baseModel?.format === 'graph-model');
  const app = err instanceof AppError ? err : undefined;
  if (app && !app.retryable) {
    log.warn({ code: app.code, err: app.message }, 'job failed');
    await records.finishFailed(app.code, app.message);
    return { outcome: 'failed', code: app.code, message: app.message };
  }
  const code = app?.code ?? 'internal_error';
  if (attempt.attemptsMade + 1 >= attempt.maxAttempts) {
    log.error({ err }, 'job failed after its last attempt');
    const message = app?.message ?? 'The job failed unexpectedly; see the worker log';
    await records.finishFailed(code, message);
    return { outcome: 'failed', code, message };
  }
  log.warn({ err, attempt: claim.attempt }, 'job attempt failed; it will be retried');
  await records.requeue(code, 'Retrying after a transient failure', claim.attempt);
  return { outcome: 'retry', code, message: (err as Error)?.message ?? String(err) };
}

export async function settleStopped(s: StageContext, reason: StopReason): Promise<RunResult> {
  switch (reason) {
    case 'lease_lost':
      s.log.warn('stopped: another worker holds the job now');
      return { outcome: 'skipped' };
    case 'pause':
      return { outcome: 'paused' };
    case 'shutdown':
      return { outcome: 'handed_back' };
    case 'cancel':
      await s.records.finishCancelled();
      s.log.info('job cancelled');
      return { outcome: 'cancelled' };
  }
}
