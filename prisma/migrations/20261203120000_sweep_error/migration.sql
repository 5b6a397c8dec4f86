-- Why a sweep failed (docs/sweeps.md): no trial succeeded, or a trial could never start.
ALTER TABLE "Sweep" ADD COLUMN "errorCode" TEXT, ADD COLUMN "errorMessage" TEXT;
