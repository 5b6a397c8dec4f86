-- Issue 20: advice runs as a job of its own type (queue, lease, cancel, tenant
-- scoping and idempotency as for jobs); its result is a row of its own, so the
-- job row and its reads stay as they are.
ALTER TYPE "JobType" ADD VALUE IF NOT EXISTS 'advice';

CREATE TABLE "JobAdvice" (
    "jobId" UUID NOT NULL,
    "advice" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "JobAdvice_pkey" PRIMARY KEY ("jobId"),
    CONSTRAINT "JobAdvice_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
