-- Issue 19: a 304 without a Postgres read. Each API instance keeps the ETags of
-- the jobs it served and LISTENs on "job_changed"; these triggers send the id of
-- every job whose response (the columns VERSION in services/job-reads.ts hashes:
-- the Job row, its output Model's id, JobAdvice.auto) may have changed, whoever
-- wrote it (worker, Prisma, raw SQL). The notification is sent at commit. A
-- Job INSERT needs none: no instance can hold an ETag for a row that did not
-- exist (its earlier DELETE, if any, notified). '*' (TRUNCATE) means "all".
CREATE FUNCTION "notify_job_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'Job' THEN
    PERFORM pg_notify('job_changed', OLD.id::text);
  ELSE
    IF TG_OP <> 'INSERT' AND OLD."jobId" IS NOT NULL THEN
      PERFORM pg_notify('job_changed', OLD."jobId"::text);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW."jobId" IS NOT NULL THEN
      PERFORM pg_notify('job_changed', NEW."jobId"::text);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION "notify_jobs_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('job_changed', '*');
  RETURN NULL;
END $$;

CREATE TRIGGER "Job_changed" AFTER UPDATE OR DELETE ON "Job" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "Model_job_changed" AFTER INSERT OR UPDATE OR DELETE ON "Model" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "JobAdvice_job_changed" AFTER INSERT OR UPDATE OR DELETE ON "JobAdvice" FOR EACH ROW EXECUTE FUNCTION "notify_job_changed"();
CREATE TRIGGER "Job_truncated" AFTER TRUNCATE ON "Job" FOR EACH STATEMENT EXECUTE FUNCTION "notify_jobs_truncated"();
CREATE TRIGGER "Model_truncated" AFTER TRUNCATE ON "Model" FOR EACH STATEMENT EXECUTE FUNCTION "notify_jobs_truncated"();
CREATE TRIGGER "JobAdvice_truncated" AFTER TRUNCATE ON "JobAdvice" FOR EACH STATEMENT EXECUTE FUNCTION "notify_jobs_truncated"();
