// A job's conditional reads (GET /v1/jobs/:id) through this instance's ETag cache
// (job-etag-cache.ts): the version from the cache when it has it, else from
// Postgres, and every version read from Postgres offered back to the cache.
import type { JobEtagCache } from './job-etag-cache.ts';
import type { VersionedReads } from './conditional-get.ts';
import { jobView, type JobService } from './jobs.ts';

export function jobVersionedReads(service: JobService, etags: JobEtagCache, tenantId: string, id: string): VersionedReads {
  return {
    version: async () => {
      const hit = etags.lookup(tenantId, id);
      if (hit !== undefined) return hit;
      const ticket = etags.begin();
      const version = await service.version(tenantId, id);
      etags.fill(ticket, tenantId, id, version);
      return version;
    },
    read: async () => {
      const ticket = etags.begin();
      const { row, version } = await service.getVersioned(tenantId, id);
      etags.fill(ticket, tenantId, id, version);
      return { version, value: jobView(row) };
    },
    waitForChange: (ms) => etags.waitForChange(id, ms),
  };
}
