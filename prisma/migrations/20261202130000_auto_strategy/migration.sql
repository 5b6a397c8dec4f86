-- Issue 20: a finetune job with strategy "auto" keeps its advice measurements
-- in JobAdvice (as an advice job does) and, beside them, what it trained: every
-- option considered, the ones trained with their measured validation accuracy
-- and compute, and the winner (GET /v1/jobs/:id shows it as `auto`).
ALTER TABLE "JobAdvice" ADD COLUMN "auto" JSONB;
