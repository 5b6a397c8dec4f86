-- Issue 19: a tenant's job list is a keyset on ("createdAt", id), newest first,
-- optionally by status. These indexes hold the whole sort key after the
-- filter, so a page is read in order and stops at its LIMIT; they replace the
-- two that ended at "createdAt" or status. The second also serves the
-- queued-jobs quota count (tenantId, status).
DROP INDEX IF EXISTS "Job_tenantId_createdAt_idx";
DROP INDEX IF EXISTS "Job_tenantId_status_idx";
CREATE INDEX "Job_tenantId_createdAt_id_idx" ON "Job"("tenantId", "createdAt", "id");
CREATE INDEX "Job_tenantId_status_createdAt_id_idx" ON "Job"("tenantId", "status", "createdAt", "id");
