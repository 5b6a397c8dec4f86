// The hot SQL of jobs (issue 19), on plain pg as named prepared statements
// (shared/db/sql.ts says why not Prisma): a job, a page of a tenant's jobs, and
// what a submit reads (quota count and datasets in one statement) and writes
// (the job and its event in one statement), each with exactly the columns GET
// /v1/jobs answers with and its output model's id joined in.
// Pages are a keyset on ("createdAt", id), newest first, which the indexes
// ("tenantId", "createdAt", id) and ("tenantId", status, "createdAt", id) serve
// in order, so a page costs its own rows whatever page it is.
import type { Job } from '../../../shared/generated/prisma/client.ts';
import type { SqlPool } from '../../../shared/db/sql.ts';
import type { JobStore, NewJob, Tx } from '../../../shared/jobs/job-store.ts';
import { decodeCursor } from './pagination.ts';
import { SpecCache } from './spec-cache.ts';

/** What jobView reads: the job without the columns only workers use, and its output model's id. */
export type JobViewRow = Omit<Job, 'tenantId' | 'resumePoint' | 'interruptRequest' | 'webhookSecret' | 'leaseToken' | 'leaseExpiresAt' | 'quotaStripe'> & {
  outputModel?: { id: string } | null;
  /** JobAdvice.auto (strategy auto); absent where a row was read without it. */
  auto?: unknown;
};

// Exactly what jobView reads. Also what a job's version hashes, so the two cannot drift apart.
const VIEW = [
  'j.id', 'j.type::text AS type', 'j.status::text AS status', 'j.stage::text AS stage', 'j.spec::text AS spec', 'j."baseModelId"', 'j."trainDatasetId"',
  'j."validationDatasetId"', 'j."testDatasetId"', 'j.epoch', 'j."totalEpochs"', 'j.progress', 'j."latestMetrics"', 'j.evaluation', 'j."bestCheckpoint"',
  'j.backend', 'j.attempts', 'j."errorCode"', 'j."errorMessage"', 'j."webhookUrl"', 'j."cancelRequestedAt"', 'j."createdAt"', 'j."updatedAt"',
  'j."startedAt"', 'j."finishedAt"', 'j."sweepId"', 'm.id AS "outputModelId"',
  // strategy "auto": what it trained (a subquery, so that the insert's RETURNING select can name it too).
  '(SELECT a.auto FROM "JobAdvice" a WHERE a."jobId" = j.id) AS auto',
];
const COLUMNS = VIEW.join(', ');
const FROM = `FROM "Job" j LEFT JOIN "Model" m ON m."jobId" = j.id`;
// The job's ETag: a hash of every column its response is made from, so it changes whenever the
// response would (whatever wrote the row, updatedAt or not); computed by Postgres, so a poller
// that has it costs one short statement and no row to parse, decode or serialize.
const VERSION = `md5(ROW(${VIEW.map((c) => c.replace(/ AS .*$/, '')).join(', ')})::text) AS version`;
const ONE = `${FROM} WHERE j.id = $1::uuid AND j."tenantId" = $2::uuid`;
const GET = `SELECT ${COLUMNS}, ${VERSION} ${ONE}`;
const GET_VERSION = `SELECT ${VERSION} ${ONE}`;

// The queued-jobs quota count and the submit's datasets, one round trip. The count stops at the
// quota ($3): all the check needs is whether it is reached, and a tenant with thousands queued
// (a raised quota) would otherwise pay for all of them on every submit. json_agg turns createdAt
// into text (UTC, no zone); it is made a Date again below.
type Raw = Omit<JobViewRow, 'outputModel'> & { outputModelId: string | null };
const specs = new SpecCache();
// The spec arrives as text (see VIEW): a job's spec seen before is not parsed or checked again.
const toRow = ({ outputModelId, ...r }: Raw): JobViewRow => ({ ...r, spec: specs.get(r.id, r.spec), outputModel: outputModelId ? { id: outputModelId } : null });
const toVersioned = ({ version, ...r }: Raw & { version: string }) => ({ row: toRow(r), version });

export interface JobPageQuery {
  status?: string;
  /** Only the trials of this sweep. */
  sweepId?: string;
  after?: string;
  /** Rows to fetch (the page size plus one, to know whether there is more). */
  take: number;
}

/** A page's WHERE (the tenant, the filters, after the cursor) and its values, the row count last. */
function pageWhere(tenantId: string, q: JobPageQuery) {
  const values: unknown[] = [tenantId];
  const where = ['j."tenantId" = $1::uuid'];
  if (q.status) {
    values.push(q.status);
    where.push(`j.status = $${values.length}::"JobStatus"`);
  }
  if (q.sweepId) {
    values.push(q.sweepId);
    where.push(`j."sweepId" = $${values.length}::uuid`);
  }
  if (q.after) {
    const c = decodeCursor(q.after);
    values.push(c.createdAt.toISOString(), c.id);
    where.push(`(j."createdAt", j.id) < ($${values.length - 1}::timestamp, $${values.length}::uuid)`);
  }
  values.push(q.take);
  return { where: where.join(' AND '), values, shape: `${q.status ? 's' : ''}${q.sweepId ? 'w' : ''}${q.after ? 'a' : ''}` };
}

export class JobReads {
  constructor(private readonly sql: SqlPool) {}

  /** Another tenant's job is null, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<JobViewRow | null> {
    return (await this.getVersioned(tenantId, id))?.row ?? null;
  }

  /** The job and its version (see VERSION); null as get(). */
  async getVersioned(tenantId: string, id: string): Promise<{ row: JobViewRow; version: string } | null> {
    const { rows } = await this.sql.query<Raw & { version: string }>({ name: 'job-get', text: GET, values: [id, tenantId] });
    return rows.length ? toVersioned(rows[0]) : null;
  }

  /** Only the job's version; null as get(). */
  async version(tenantId: string, id: string): Promise<string | null> {
    const { rows } = await this.sql.query<{ version: string }>({ name: 'job-version', text: GET_VERSION, values: [id, tenantId] });
    return rows.length ? rows[0].version : null;
  }

  async page(tenantId: string, q: JobPageQuery): Promise<JobViewRow[]> {
    const { where, values, shape } = pageWhere(tenantId, q);
    const text = `SELECT ${COLUMNS} ${FROM} WHERE ${where} ORDER BY j."createdAt" DESC, j.id DESC LIMIT $${values.length}`;
    // Eight shapes of the statement (status, sweep, cursor: each or not), each prepared once per connection.
    const { rows } = await this.sql.query<Raw>({ name: `job-page-${shape}`, text, values });
    return rows.map(toRow);
  }

  /**
   * The same page's keys only, in the same order: an index-only scan of ("tenantId", "createdAt", id)
   * or ("tenantId", status, "createdAt", id) (a sweep filter reads the rows). See job-list.ts.
   */
  async pageKeys(tenantId: string, q: JobPageQuery): Promise<Array<{ id: string; createdAt: Date }>> {
    const { where, values, shape } = pageWhere(tenantId, q);
    const text = `SELECT j.id, j."createdAt" FROM "Job" j WHERE ${where} ORDER BY j."createdAt" DESC, j.id DESC LIMIT $${values.length}`;
    return (await this.sql.query<{ id: string; createdAt: Date }>({ name: `job-keys-${shape}`, text, values })).rows;
  }

  /** The tenant's jobs of `ids` that exist, with their versions, in no particular order. */
  async byIds(tenantId: string, ids: string[]): Promise<Array<{ row: JobViewRow; version: string }>> {
    const text = `SELECT ${COLUMNS}, ${VERSION} ${FROM} WHERE j.id = ANY($1::uuid[]) AND j."tenantId" = $2::uuid`;
    const { rows } = await this.sql.query<Raw & { version: string }>({ name: 'job-by-ids', text, values: [ids, tenantId] });
    return rows.map(toVersioned);
  }

  /** The tenant's queued and paused jobs (counted up to `quota`), and those of `datasetIds` that are the tenant's. */
  /** The tenant's queued or paused jobs other than `jobId`, counted up to `quota`. */
  /** Inserts the job (queued) and its status event in one statement; `tx` runs it inside a Prisma transaction. */
  async insert(store: JobStore, data: NewJob, tx?: Tx): Promise<JobViewRow> {
    const { text, values } = store.createStatement(data, COLUMNS);
    const rows = tx ? await tx.$queryRawUnsafe<Raw[]>(text, ...values) : (await this.sql.query<Raw>({ name: 'job-insert', text, values })).rows;
    return toRow(rows[0]);
  }
}
