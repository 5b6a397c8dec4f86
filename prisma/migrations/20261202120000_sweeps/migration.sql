-- Issue 20, sweeps: a sweep is a row of its own (Postgres is the source of
-- truth, docs/sweeps.md); its trials are ordinary jobs that name it, each
-- planned when the sweep is posted (SweepTrial.spec) and made a job when a
-- slot frees up.
CREATE TYPE "SweepStatus" AS ENUM ('running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE "Sweep" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "name" TEXT,
    "status" "SweepStatus" NOT NULL DEFAULT 'running',
    "spec" JSONB NOT NULL,
    "bestJobId" UUID,
    "cancelRequestedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    CONSTRAINT "Sweep_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Sweep_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "Sweep_tenantId_createdAt_id_idx" ON "Sweep"("tenantId", "createdAt", "id");
CREATE INDEX "Sweep_status_idx" ON "Sweep"("status");

CREATE TABLE "SweepTrial" (
    "sweepId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "spec" JSONB NOT NULL,
    "featureGroup" TEXT,
    "jobId" UUID,
    "features" TEXT,
    "rungs" JSONB NOT NULL DEFAULT '{}',
    "prunedAtEpoch" INTEGER,
    "compute" JSONB,
    CONSTRAINT "SweepTrial_pkey" PRIMARY KEY ("sweepId", "index"),
    CONSTRAINT "SweepTrial_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "SweepTrial_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "SweepTrial_jobId_key" ON "SweepTrial"("jobId");

ALTER TABLE "Job" ADD COLUMN "sweepId" UUID;
ALTER TABLE "Job" ADD CONSTRAINT "Job_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE SET NULL ON UPDATE CASCADE;
CREATE INDEX "Job_sweepId_idx" ON "Job"("sweepId");
