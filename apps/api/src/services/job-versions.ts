// A job's conditional reads (GET /v1/jobs/:id) through this instance's ETag cache
// (job-etag-cache.ts): the version, and the body served with it, from the cache
// when it has them, else from Postgres; whatever is read from Postgres is offered
// back to the cache. The body is serialized by the route's own response schema
// (`serialize`) once per version, so a body from memory is the one a read would send.
import type { JobEtagCache } from './job-etag-cache.ts';
import type { VersionedReads } from './conditional-get.ts';
import { jobView, type JobService } from './jobs.ts';

export function jobVersionedReads(service: JobService, etags: JobEtagCache, tenantId: string, id: string, serialize: (value: unknown) => string): VersionedReads {
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
      const hit = etags.lookupBody(tenantId, id);
      if (hit) return { version: hit.version, json: hit.body };
      const ticket = etags.begin();
      const { row, version } = await service.getVersioned(tenantId, id);
      const json = serialize(jobView(row));
      etags.fill(ticket, tenantId, id, version, json);
      return { version, json };
    },
    waitForChange: (ms) => etags.waitForChange(id, ms),
  };
}
