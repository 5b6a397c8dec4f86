// The hot reads of jobs (issue 19): a job, or a page of a tenant's jobs, in one
// SQL statement each, with exactly the columns GET /v1/jobs answers with and its
// output model's id joined in (Prisma's include is a second query per read).
// Pages are a keyset on ("createdAt", id), newest first, which the indexes
// ("tenantId", "createdAt", id) and ("tenantId", status, "createdAt", id) serve
// in order, so a page costs its own rows whatever page it is.
import type { Db } from '../../../shared/db/prisma.ts';
import type { Job } from '../../../shared/generated/prisma/client.ts';
import { decodeCursor } from './pagination.ts';

/** What jobView reads: the job without the columns only workers use, and its output model's id. */
export type JobViewRow = Omit<Job, 'tenantId' | 'resumePoint' | 'interruptRequest' | 'webhookSecret' | 'leaseToken' | 'leaseExpiresAt'> & {
  outputModel?: { id: string } | null;
};

const COLUMNS = `j.id, j.type::text AS type, j.status::text AS status, j.stage::text AS stage, j.spec, j."baseModelId", j."trainDatasetId",
  j."validationDatasetId", j."testDatasetId", j.epoch, j."totalEpochs", j.progress, j."latestMetrics", j.evaluation, j."bestCheckpoint",
  j.backend, j.attempts, j."errorCode", j."errorMessage", j."webhookUrl", j."cancelRequestedAt", j."createdAt", j."updatedAt",
  j."startedAt", j."finishedAt", m.id AS "outputModelId"`;
const FROM = `FROM "Job" j LEFT JOIN "Model" m ON m."jobId" = j.id`;

type Raw = Omit<JobViewRow, 'outputModel'> & { outputModelId: string | null };
const toRow = ({ outputModelId, ...r }: Raw): JobViewRow => ({ ...r, outputModel: outputModelId ? { id: outputModelId } : null });

export interface JobPageQuery {
  status?: string;
  after?: string;
  /** Rows to fetch (the page size plus one, to know whether there is more). */
  take: number;
}

export class JobReads {
  constructor(private readonly db: Db) {}

  /** Another tenant's job is null, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<JobViewRow | null> {
    const rows = await this.db.$queryRawUnsafe<Raw[]>(`SELECT ${COLUMNS} ${FROM} WHERE j.id = $1::uuid AND j."tenantId" = $2::uuid`, id, tenantId);
    return rows.length ? toRow(rows[0]) : null;
  }

  async page(tenantId: string, q: JobPageQuery): Promise<JobViewRow[]> {
    const params: unknown[] = [tenantId];
    const where = ['j."tenantId" = $1::uuid'];
    if (q.status) {
      params.push(q.status);
      where.push(`j.status = $${params.length}::"JobStatus"`);
    }
    if (q.after) {
      const c = decodeCursor(q.after);
      params.push(c.createdAt.toISOString(), c.id);
      where.push(`(j."createdAt", j.id) < ($${params.length - 1}::timestamp, $${params.length}::uuid)`);
    }
    params.push(q.take);
    const sql = `SELECT ${COLUMNS} ${FROM} WHERE ${where.join(' AND ')} ORDER BY j."createdAt" DESC, j.id DESC LIMIT $${params.length}`;
    return (await this.db.$queryRawUnsafe<Raw[]>(sql, ...params)).map(toRow);
  }
}
