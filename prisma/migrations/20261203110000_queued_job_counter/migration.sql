-- Issue 19: the queued-jobs quota (MAX_QUEUED_JOBS_PER_TENANT) without a count.
-- "QueuedJobCount" holds each tenant's queued and paused jobs in 16 stripes,
-- kept by triggers on "Job" (insert, status change, delete: whoever writes),
-- so a submit reads 16 rows instead of every queued job. A job counts in the
-- stripe its "quotaStripe" names: a submit takes a stripe no other submit holds
-- (SKIP LOCKED), so concurrent submits of one tenant do not wait on one row
-- lock held through each other's commits. docs/performance-api.md says more.
ALTER TABLE "Job" ADD COLUMN "quotaStripe" SMALLINT NOT NULL DEFAULT 0;

CREATE TABLE "QueuedJobCount" (
    "tenantId" UUID NOT NULL,
    "stripe" SMALLINT NOT NULL,
    "n" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "QueuedJobCount_pkey" PRIMARY KEY ("tenantId", "stripe")
) WITH (fillfactor = 50);
ALTER TABLE "QueuedJobCount" ADD CONSTRAINT "QueuedJobCount_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- A new tenant starts with its 16 stripes at zero.
CREATE FUNCTION finetune_queued_count_stripes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "QueuedJobCount" ("tenantId", stripe) SELECT NEW.id, s FROM generate_series(0, 15) s ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER "Tenant_queued_count_stripes" AFTER INSERT ON "Tenant" FOR EACH ROW EXECUTE FUNCTION finetune_queued_count_stripes();

-- A job counts while queued or paused. The UPDATE trigger fires only when that,
-- the tenant or the stripe changes, so progress writes and queued <-> paused
-- touch no counter.
CREATE FUNCTION finetune_queued_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status IN ('queued', 'paused') THEN
    UPDATE "QueuedJobCount" SET n = n - 1 WHERE "tenantId" = OLD."tenantId" AND stripe = OLD."quotaStripe";
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.status IN ('queued', 'paused') THEN
    INSERT INTO "QueuedJobCount" ("tenantId", stripe, n) VALUES (NEW."tenantId", NEW."quotaStripe", 1)
      ON CONFLICT ("tenantId", stripe) DO UPDATE SET n = "QueuedJobCount".n + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER "Job_queued_count" AFTER INSERT OR DELETE ON "Job" FOR EACH ROW EXECUTE FUNCTION finetune_queued_count();
CREATE TRIGGER "Job_queued_count_update" AFTER UPDATE OF status, "tenantId", "quotaStripe" ON "Job" FOR EACH ROW
  WHEN ((OLD.status IN ('queued', 'paused')) IS DISTINCT FROM (NEW.status IN ('queued', 'paused'))
    OR OLD."tenantId" IS DISTINCT FROM NEW."tenantId" OR OLD."quotaStripe" IS DISTINCT FROM NEW."quotaStripe")
  EXECUTE FUNCTION finetune_queued_count();

-- TRUNCATE fires no row triggers: it empties every counter instead.
CREATE FUNCTION finetune_queued_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "QueuedJobCount" SET n = 0 WHERE n <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER "Job_queued_count_truncated" AFTER TRUNCATE ON "Job" FOR EACH STATEMENT EXECUTE FUNCTION finetune_queued_count_truncated();

-- A place in the tenant's queue under `quota`, for the submit's insert: the
-- stripe its job counts in, or SQLSTATE QJ429 when the tenant already has
-- `quota` queued or paused jobs. Exact under concurrency: a submit that
-- admits holds its stripe's row lock until it commits, so at most one
-- admitted, uncommitted job per stripe is invisible to a fresh read. Fast:
-- lock any free stripe and admit if committed + stripes <= quota. Otherwise
-- (near the quota) release it (the subtransaction's rollback drops the row
-- lock), lock every stripe in order (no deadlock: nobody holds one while
-- waiting for another) and compare the exact sum.
CREATE FUNCTION finetune_take_queued_place(p_tenant UUID, p_quota INTEGER) RETURNS SMALLINT LANGUAGE plpgsql AS $$
DECLARE
  s SMALLINT;
  total BIGINT;
  stripes INTEGER;
BEGIN
  BEGIN
    SELECT c.stripe INTO s FROM "QueuedJobCount" c WHERE c."tenantId" = p_tenant ORDER BY c.stripe LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;
    IF s IS NOT NULL THEN
      -- A new statement, so a new snapshot: every commit up to now.
      SELECT sum(n), count(*) INTO total, stripes FROM "QueuedJobCount" WHERE "tenantId" = p_tenant;
      IF total + stripes <= p_quota THEN
        RETURN s;
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'QJ000';
    END IF;
  EXCEPTION WHEN SQLSTATE 'QJ000' THEN
    NULL;
  END;
  -- Stripe rows gone (a restore, a manual delete) would refuse every submit: put them back.
  INSERT INTO "QueuedJobCount" ("tenantId", stripe, n) SELECT p_tenant, g, 0 FROM generate_series(0, 15) g ON CONFLICT DO NOTHING;
  PERFORM 1 FROM "QueuedJobCount" WHERE "tenantId" = p_tenant ORDER BY stripe FOR NO KEY UPDATE;
  SELECT sum(n), min(stripe) INTO total, s FROM "QueuedJobCount" WHERE "tenantId" = p_tenant;
  IF s IS NULL OR total >= p_quota THEN
    RAISE EXCEPTION 'too_many_queued_jobs' USING ERRCODE = 'QJ429';
  END IF;
  RETURN s;
END $$;

-- Writers wait while the counts are taken, so the triggers and the backfill
-- agree exactly.
LOCK TABLE "Job" IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO "QueuedJobCount" ("tenantId", stripe, n)
SELECT t.id, s, (SELECT count(*) FROM "Job" j WHERE j."tenantId" = t.id AND j."quotaStripe" = s AND j.status IN ('queued', 'paused'))
FROM "Tenant" t CROSS JOIN generate_series(0, 15) s;
