// The worker's writes to Postgres for one job: stage, epochs, checkpoints, outcome.
import type { Db } from '../../shared/db/prisma.ts';
import type { JobStage } from '../../shared/generated/prisma/enums.ts';
import type { EpochResult } from './pipeline/train.ts';

export class JobRecords {
  constructor(
    private readonly db: Db,
    readonly jobId: string,
  ) {}

  setStage(stage: JobStage) {
    return this.db.job.update({ where: { id: this.jobId }, data: { stage } });
  }

  async cancelRequested(): Promise<boolean> {
    const job = await this.db.job.findUnique({ where: { id: this.jobId }, select: { cancelRequestedAt: true } });
    return job?.cancelRequestedAt != null;
  }

  /** Metrics and checkpoint of one finished epoch, written together. */
  recordEpoch(r: EpochResult, totalEpochs: number, checkpoint: { prefix: string; sizeBytes: number }) {
    const metrics = {
      loss: r.loss,
      accuracy: r.accuracy,
      valLoss: r.valLoss,
      valAccuracy: r.valAccuracy,
      durationMs: r.durationMs,
      examplesPerSec: r.examplesPerSec,
    };
    const key = { jobId_epoch: { jobId: this.jobId, epoch: r.epoch } };
    return this.db.$transaction([
      this.db.epochMetric.upsert({ where: key, create: { jobId: this.jobId, epoch: r.epoch, ...metrics }, update: metrics }),
      this.db.checkpoint.upsert({
        where: key,
        create: { jobId: this.jobId, epoch: r.epoch, ...checkpoint },
        update: checkpoint,
      }),
      this.db.job.update({
        where: { id: this.jobId },
        data: { epoch: r.epoch, progress: r.epoch / totalEpochs, latestMetrics: { epoch: r.epoch, ...metrics } },
      }),
    ]);
  }

  finishCancelled() {
    return this.db.job.update({
      where: { id: this.jobId },
      data: { status: 'cancelled', finishedAt: new Date(), errorCode: 'job_cancelled', errorMessage: 'The job was cancelled; its checkpoints are kept' },
    });
  }

  finishFailed(code: string, message: string) {
    return this.db.job.update({
      where: { id: this.jobId },
      data: { status: 'failed', finishedAt: new Date(), errorCode: code, errorMessage: message },
    });
  }

  /** A transient failure that will be retried: the job waits in the queue again. */
  requeue(code: string, message: string) {
    return this.db.job.update({ where: { id: this.jobId }, data: { status: 'queued', errorCode: code, errorMessage: message } });
  }
}
