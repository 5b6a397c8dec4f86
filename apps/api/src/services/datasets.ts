import { randomUUID } from 'node:crypto';
import type { Db } from '../../../shared/db/prisma.ts';
import type { Dataset } from '../../../shared/generated/prisma/client.ts';
import { NotFoundError } from '../../../shared/errors.ts';
import { registerDataset, type DatasetLimits } from '../../../shared/data/dataset-source.ts';
import { checkS3Source } from '../../../shared/net/outbound-url.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import type { CreateDatasetBody, DatasetResponse } from '../schemas/datasets.ts';
import { afterCursor, newestFirst, toPage } from './pagination.ts';

export function datasetView(d: Dataset): DatasetResponse {
  return {
    id: d.id,
    name: d.name,
    source: d.source as Record<string, unknown>,
    featureShape: d.featureShape,
    numExamples: d.numExamples,
    numClasses: d.labels.length,
    labels: d.labels,
    classCounts: d.classCounts as DatasetResponse['classCounts'],
    createdAt: d.createdAt.toISOString(),
  };
}

export class DatasetService {
  constructor(
    private readonly db: Db,
    private readonly storage: Storage,
    /** MAX_DATASET_BYTES alone, or with MAX_DATASET_ROWS and MAX_DATASET_FEATURES. */
    private readonly limits: number | DatasetLimits,
    /** S3_SOURCE_BUCKETS (config.s3.sourceBuckets); until the caller passes it, only our own bucket. */
    private readonly sourceBuckets: readonly string[] = [storage.bucket],
  ) {}

  async create(tenantId: string, body: CreateDatasetBody): Promise<Dataset> {
    if (body.source.type === 's3') checkS3Source(body.source.uri, { bucket: this.storage.bucket, sourceBuckets: this.sourceBuckets }, tenantId);
    const id = randomUUID();
    const limits = typeof this.limits === 'number' ? { maxBytes: this.limits, maxRows: Infinity, maxFeatures: Infinity } : this.limits;
    const profile = await registerDataset(id, body.source, this.storage, limits);
    try {
      return await this.db.dataset.create({
        data: { id, tenantId, name: body.name, source: profile.source, featureShape: profile.featureShape, numExamples: profile.numExamples, labels: profile.labels, classCounts: profile.classCounts },
      });
    } catch (err) {
      // Leave no snapshot behind without its record.
      await this.storage.deletePrefix(`datasets/${id}/`).catch(() => undefined);
      throw err;
    }
  }

  /** Another tenant's dataset is not found, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<Dataset> {
    const d = await this.db.dataset.findFirst({ where: { id, tenantId } });
    if (!d) throw new NotFoundError('dataset', id);
    return d;
  }

  async list(tenantId: string, limit: number, after?: string) {
    const rows = await this.db.dataset.findMany({ where: { tenantId, ...afterCursor(after) }, orderBy: newestFirst, take: limit + 1 });
    return toPage(rows, limit, datasetView);
  }
}
