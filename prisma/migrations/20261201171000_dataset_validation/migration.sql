-- Issue 17: an image dataset answers 202 at once and is validated in the
-- background; its row says where that is. Existing rows were registered
-- synchronously, so they are ready.
CREATE TYPE "DatasetStatus" AS ENUM ('validating', 'ready', 'failed', 'cancelled');
ALTER TABLE "Dataset" ADD COLUMN "status" "DatasetStatus" NOT NULL DEFAULT 'ready';
ALTER TABLE "Dataset" ADD COLUMN "progress" JSONB;
ALTER TABLE "Dataset" ADD COLUMN "error" JSONB;
ALTER TABLE "Dataset" ADD COLUMN "heartbeatAt" TIMESTAMP(3);
-- The startup/periodic sweep looks for validating rows whose heartbeat is stale.
CREATE INDEX "Dataset_status_heartbeatAt_idx" ON "Dataset"("status", "heartbeatAt");
