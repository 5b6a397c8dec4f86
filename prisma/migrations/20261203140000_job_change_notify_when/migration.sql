-- Issue 19 (review): a job_changed notification only for an UPDATE that changes
-- what a job's response is made of. Every NOTIFY-ing commit takes Postgres's
-- global notify lock, and the old triggers fired on every UPDATE: no-op updates,
-- and writes to columns no response shows (leaseToken, leaseExpiresAt without
-- updatedAt, interruptRequest, resumePoint, webhookSecret, quotaStripe).
-- The Job columns compared are those VIEW in apps/api/src/services/job-reads.ts
-- reads (test/job-change-probe.test.ts checks that they match), plus tenantId,
-- which the cache's entries are keyed with. A WHEN clause of a trigger that also
-- fires on DELETE may not name NEW, so each table's UPDATE trigger is its own.
-- "Job_changed" keeps its name: the API checks it exists before using the cache.
DROP TRIGGER "Job_changed" ON "Job";
DROP TRIGGER "Model_job_changed" ON "Model";
DROP TRIGGER "JobAdvice_job_changed" ON "JobAdvice";

CREATE TRIGGER "Job_changed" AFTER UPDATE ON "Job" FOR EACH ROW
  WHEN ((OLD.id, OLD."tenantId", OLD.type, OLD.status, OLD.stage, OLD.spec, OLD."baseModelId", OLD."trainDatasetId",
         OLD."validationDatasetId", OLD."testDatasetId", OLD.epoch, OLD."totalEpochs", OLD.progress, OLD."latestMetrics",
         OLD.evaluation, OLD."bestCheckpoint", OLD.backend, OLD.attempts, OLD."errorCode", OLD."errorMessage", OLD."webhookUrl",
         OLD."cancelRequestedAt", OLD."createdAt", OLD."updatedAt", OLD."startedAt", OLD."finishedAt", OLD."sweepId")
        IS DISTINCT FROM
        (NEW.id, NEW."tenantId", NEW.type, NEW.status, NEW.stage, NEW.spec, NEW."baseModelId", NEW."trainDatasetId",
         NEW."validationDatasetId", NEW."testDatasetId", NEW.epoch, NEW."totalEpochs", NEW.progress, NEW."latestMetrics",
         NEW.evaluation, NEW."bestCheckpoint", NEW.backend, NEW.attempts, NEW."errorCode", NEW."errorMessage", NEW."webhookUrl",
         NEW."cancelRequestedAt", NEW."createdAt", NEW."updatedAt", NEW."startedAt", NEW."finishedAt", NEW."sweepId"))
  EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "Job_deleted" AFTER DELETE ON "Job" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();

-- A job's response shows only its output model's id (m.id, joined on m."jobId").
CREATE TRIGGER "Model_job_changed" AFTER UPDATE ON "Model" FOR EACH ROW
  WHEN ((OLD.id, OLD."jobId") IS DISTINCT FROM (NEW.id, NEW."jobId"))
  EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "Model_job_added_or_removed" AFTER INSERT OR DELETE ON "Model" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();

-- Only JobAdvice.auto (by "jobId").
CREATE TRIGGER "JobAdvice_job_changed" AFTER UPDATE ON "JobAdvice" FOR EACH ROW
  WHEN ((OLD.auto, OLD."jobId") IS DISTINCT FROM (NEW.auto, NEW."jobId"))
  EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "JobAdvice_job_added_or_removed" AFTER INSERT OR DELETE ON "JobAdvice" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();
