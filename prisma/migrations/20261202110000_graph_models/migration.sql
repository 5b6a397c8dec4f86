-- Issue 18: TensorFlow.js Graph models as frozen bases. A model's files are a
-- LayersModel, a Graph model, or (a job's output on a Graph base) a head
-- LayersModel with its base graph beside it under base/; graphOutput is the
-- graph node the head reads.
ALTER TABLE "Model" ADD COLUMN "format" TEXT NOT NULL DEFAULT 'layers-model';
ALTER TABLE "Model" ADD COLUMN "graphOutput" TEXT;
