// A job's checkpoint files, for routes/checkpoint-files.ts.
import type { Db } from '../../../shared/db/prisma.ts';
import { NotFoundError } from '../../../shared/errors.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

export type CheckpointFile = 'model.json' | 'weights.bin';

export class CheckpointService {
  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
  ) {}

  /** Another tenant's job is not found, exactly like one that does not exist. */
  async file(tenantId: string, jobId: string, epoch: number, file: CheckpointFile): Promise<Uint8Array> {
    const job = await this.db.job.findFirst({ where: { id: jobId, tenantId }, select: { id: true } });
    if (!job) throw new NotFoundError('job', jobId);
    const checkpoint = await this.db.checkpoint.findUnique({ where: { jobId_epoch: { jobId, epoch } } });
    if (!checkpoint) throw new NotFoundError('checkpoint', `${jobId}/${epoch}`);
    return this.storage.getBytes(checkpoint.prefix + file);
  }
}
