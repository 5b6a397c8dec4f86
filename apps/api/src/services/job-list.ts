// GET /v1/jobs through this instance's job cache (issue 19, docs/performance-api.md,
// fifth round). Which jobs are on a page, in what order, and whether there is more
// come from Postgres on every request, exactly as before (the same WHERE, the same
// keyset, read from the index alone); each job's body comes from the cache
// (job-etag-cache.ts) when it holds one, under the same staleness bound as a GET of
// that job, and the others' rows are read in one statement by id and offered back
// to the cache. A list item is the GET's body: the same Job schema, serialized by
// the same compiled function, so the page is assembled from the bodies as they are.
// With the cache off (listener down, JOB_ETAG_CACHE_MS=0) the page is read whole.
// `pages` (job-page-bytes.ts) keeps the assembled bytes while they are made of the same bodies.
import type { JobEtagCache } from './job-etag-cache.ts';
import type { JobReads } from './job-reads.ts';
import type { JobPageBytes } from './job-page-bytes.ts';
import { jobView } from './jobs.ts';
import { encodeCursor } from './pagination.ts';

export interface JobListArgs {
  status?: string;
  sweepId?: string;
  after?: string;
  limit: number;
}

/**
 * The page as JSON (UTF-8), byte for byte what serializing the page read whole would give;
 * undefined where it must be read whole instead (the cache is off, or a job on the page
 * was deleted between the two statements).
 */
export async function listFromCache(reads: JobReads, etags: JobEtagCache, tenantId: string, q: JobListArgs, serializeJob: (value: Record<string, unknown>) => string, pages?: JobPageBytes): Promise<Buffer | undefined> {
  if (!etags.enabled) return undefined;
  const keys = await reads.pageKeys(tenantId, { status: q.status, sweepId: q.sweepId, after: q.after, take: q.limit + 1 });
  const hasMore = keys.length > q.limit;
  const page = hasMore ? keys.slice(0, q.limit) : keys;
  const bodies = page.map((k) => etags.lookupBody(tenantId, k.id)?.body);
  const missing = page.filter((_, i) => bodies[i] === undefined).map((k) => k.id);
  if (missing.length > 0) {
    // Taken before the read, so that a row read before a change's notification is not kept after it.
    const ticket = etags.begin();
    const rows = await reads.byIds(tenantId, missing);
    if (rows.length !== missing.length) return undefined;
    const read = new Map(rows.map((r) => [r.row.id, r]));
    for (let i = 0; i < page.length; i++) {
      if (bodies[i] !== undefined) continue;
      const { row, version } = read.get(page[i].id)!;
      const json = serializeJob(jobView(row));
      etags.fill(ticket, tenantId, row.id, version, json);
      bodies[i] = json;
    }
  }
  // JobPage's properties in its schema's order; `skipped` is never present (jobView leaves no job out).
  const tail = `],"hasMore":${hasMore},"nextCursor":${hasMore ? JSON.stringify(encodeCursor(page[page.length - 1])) : 'null'}}`;
  const all = bodies as string[];
  const key = `${tenantId}|${q.status ?? ''}|${q.sweepId ?? ''}|${q.after ?? ''}|${q.limit}`;
  const kept = pages?.get(key, all, tail);
  if (kept) return kept;
  const bytes = Buffer.from(`{"data":[${all.join(',')}${tail}`);
  pages?.set(key, all, tail, bytes);
  return bytes;
}
