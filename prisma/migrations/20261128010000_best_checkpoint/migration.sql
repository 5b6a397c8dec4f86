-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "bestCheckpoint" JSONB;
