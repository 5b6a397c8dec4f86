import { randomUUID } from 'node:crypto';
import type { Db } from '../../../shared/db/prisma.ts';
import type { Dataset } from '../../../shared/generated/prisma/client.ts';
import { ConflictError, NotFoundError, TooManyRequestsError } from '../../../shared/errors.ts';
import { registerDataset, type DatasetLimits, type DatasetProfile } from '../../../shared/data/dataset-source.ts';
import type { RegistrationProgress } from '../../../shared/data/images/register.ts';
import { tabularObjectSize } from '../../../shared/data/tabular-register.ts';
import { DatasetValidator, type RegisterFn } from './dataset-validation.ts';
import { checkS3Source } from '../../../shared/net/outbound-url.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import { DatasetSchema, type CreateDatasetBody, type DatasetResponse } from '../schemas/datasets.ts';
import { afterCursor, newestFirst, toPage } from './pagination.ts';
import { StoredRecordError, viewCheck, type ViewCheck } from './record-views.ts';

const datasetViews: ViewCheck<typeof DatasetSchema> = viewCheck(DatasetSchema);

/** A dataset a job or advice may read: an image registration still running, failed or cancelled is a 409. */
export function requireReady<D extends Pick<Dataset, 'id' | 'status'>>(d: D): D {
  if (d.status !== 'ready') throw new ConflictError('dataset_not_ready', `Dataset ${d.id} is ${d.status}; a job needs a ready dataset`, { id: d.id, status: d.status });
  return d;
}

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
    status: d.status,
    progress: (d.progress ?? null) as DatasetResponse['progress'],
    error: (d.error ?? null) as DatasetResponse['error'],
    createdAt: d.createdAt.toISOString(),
  };
}

export interface DatasetServiceDeps {
  db: Db;
  storage: Storage;
  /** MAX_DATASET_BYTES alone, or with MAX_DATASET_ROWS, MAX_DATASET_FEATURES and MAX_DATASET_CLASSES. */
  limits: number | DatasetLimits;
  /** S3_SOURCE_BUCKETS (config.s3.sourceBuckets); without it, only our own bucket. */
  sourceBuckets?: readonly string[];
  /**
   * DATASET_SYNC_MAX_BYTES: larger CSV/NDJSON files register in the background; MAX_DATASET_REGISTRATIONS_PER_TENANT.
   * @defaultValue 16 MiB and 4
   */
  background?: { syncMaxBytes: number; perTenant: number };
  /** Where a stored row that no longer fits its schema is reported. */
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export class DatasetService {
  private readonly db: Db;
  private readonly storage: Storage;
  private readonly limits: number | DatasetLimits;
  private readonly sourceBuckets: readonly string[];
  private readonly log: DatasetServiceDeps['log'];
  private readonly background: { syncMaxBytes: number; perTenant: number };
  /** Background registrations running in this process; their sweep and shutdown. */
  readonly validator: DatasetValidator;

  constructor(deps: DatasetServiceDeps) {
    ({ db: this.db, storage: this.storage, limits: this.limits, log: this.log } = deps);
    this.sourceBuckets = deps.sourceBuckets ?? [deps.storage.bucket];
    this.background = deps.background ?? { syncMaxBytes: 16 * 2 ** 20, perTenant: 4 };
    this.validator = new DatasetValidator({ db: this.db, storage: this.storage, log: this.log });
  }

  /**
   * MNIST and CSV/NDJSON up to DATASET_SYNC_MAX_BYTES are read at once (`accepted` false: 201). An
   * image source or a larger file is checked for where it points (and a file for its size), stored
   * as a `validating` row and validated in the background (`accepted`: 202).
   */
  async create(tenantId: string, body: CreateDatasetBody): Promise<{ dataset: Dataset; accepted: boolean }> {
    const checkUri = (uri: string) => checkS3Source(uri, { bucket: this.storage.bucket, sourceBuckets: this.sourceBuckets }, tenantId);
    if (body.source.type !== 'mnist') checkUri(body.source.uri);
    const id = randomUUID();
    const limits = typeof this.limits === 'number' ? { maxBytes: this.limits, maxRows: Infinity, maxFeatures: Infinity, maxClasses: Infinity } : this.limits;
    // Checked before the snapshot is written: a profile that would not fit the schema is never stored.
    const beforeStore = (p: DatasetProfile) => {
      datasetViews.assertStorable(datasetView({ id, tenantId, name: body.name, ...p, source: p.source as Dataset['source'], classCounts: p.classCounts as Dataset['classCounts'], createdAt: new Date(), status: 'ready', progress: null, error: null, heartbeatAt: null }));
    };
    const source = body.source;
    const inBackground: RegisterFn = (_, signal, onProgress) => registerDataset(id, source, this.storage, limits, beforeStore, checkUri, { signal, onProgress });
    if (source.type === 'images') {
      const dataset = await this.startBackground(tenantId, id, body, { phase: 'listing', objectsTotal: null, objectsDone: 0, bytesRead: 0, classCounts: [] }, inBackground);
      return { dataset, accepted: true };
    }
    if (source.type === 's3') {
      // A file too large for MAX_DATASET_BYTES is refused (413) here, before any row is stored.
      const size = await tabularObjectSize(source.uri, this.storage, limits.maxBytes);
      if (size > this.background.syncMaxBytes) {
        const dataset = await this.startBackground(tenantId, id, body, { phase: 'decoding', objectsTotal: 1, objectsDone: 0, bytesRead: 0, bytesTotal: size, classCounts: [] }, inBackground);
        return { dataset, accepted: true };
      }
    }
    const profile = await registerDataset(id, body.source, this.storage, limits, beforeStore, checkUri);
    const data = { id, tenantId, name: body.name, source: profile.source, featureShape: profile.featureShape, numExamples: profile.numExamples, labels: profile.labels, classCounts: profile.classCounts };
    try {
      const dataset = await this.db.$transaction(async (tx) => {
        const created = await tx.dataset.create({ data });
        datasetViews.assertStorable(datasetView(created));
        return created;
      });
      return { dataset, accepted: false };
    } catch (err) {
      // Leave no snapshot behind without its record.
      await this.storage.deletePrefix(`datasets/${id}/`).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Inserts the `validating` row and starts its registration, unless the tenant already has
   * MAX_DATASET_REGISTRATIONS_PER_TENANT validating (429). Counted under a per-tenant advisory lock,
   * so two requests at once cannot both take the last place.
   */
  private async startBackground(tenantId: string, id: string, body: CreateDatasetBody, progress: RegistrationProgress, register: RegisterFn): Promise<Dataset> {
    const limit = this.background.perTenant;
    const dataset = await this.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`dataset-registrations:${tenantId}`}))`;
      const running = await tx.dataset.count({ where: { tenantId, status: 'validating' } });
      if (running >= limit) {
        throw new TooManyRequestsError('too_many_dataset_registrations', `This tenant already has ${running} dataset registrations validating (limit ${limit}, MAX_DATASET_REGISTRATIONS_PER_TENANT)`, 30, {
          setting: 'MAX_DATASET_REGISTRATIONS_PER_TENANT',
          limit,
          actual: running,
        });
      }
      return tx.dataset.create({
        data: { id, tenantId, name: body.name, source: body.source, featureShape: [], numExamples: 0, labels: [], classCounts: [], status: 'validating', heartbeatAt: new Date(), progress },
      });
    });
    this.validator.start(id, register);
    return dataset;
  }

  /**
   * POST /v1/datasets/:id/cancel: a validating registration ends `cancelled`, and every object it
   * wrote is deleted before this returns (by this process's validator, or here when another runs it).
   */
  async cancel(tenantId: string, id: string): Promise<Dataset> {
    const d = await this.get(tenantId, id);
    const error = { code: 'registration_cancelled', status: 409, message: 'The registration was cancelled; every object it wrote was deleted' };
    const n = await this.db.dataset.updateMany({ where: { id, tenantId, status: 'validating' }, data: { status: 'cancelled', error, heartbeatAt: null } });
    if (n.count === 0) throw new ConflictError('dataset_not_validating', `Dataset ${id} is ${d.status}; only a validating registration can be cancelled`, { id, status: d.status });
    await this.validator.stop(id);
    // Another process's validator stops at its next heartbeat and deletes again whatever it wrote since.
    await this.storage.deletePrefix(`datasets/${id}/`);
    return this.get(tenantId, id);
  }

  /** Another tenant's dataset is not found, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<Dataset> {
    const d = await this.db.dataset.findFirst({ where: { id, tenantId } });
    if (!d) throw new NotFoundError('dataset', id);
    return d;
  }

  /** The row as the API shows it; undefined (logged) when it does not fit the schema. */
  private view(d: Dataset): DatasetResponse | undefined {
    const v = datasetView(d);
    const fault = datasetViews.fault(v);
    if (!fault) return v;
    this.log.error({ datasetId: d.id, fault }, 'stored dataset row does not fit its schema; left out of the response');
    return undefined;
  }

  /** GET /v1/datasets/:id: 500 stored_record_invalid for a row that cannot be shown. */
  async show(tenantId: string, id: string): Promise<DatasetResponse> {
    const v = this.view(await this.get(tenantId, id));
    if (!v) throw new StoredRecordError('dataset', id);
    return v;
  }

  async list(tenantId: string, limit: number, after?: string) {
    const rows = await this.db.dataset.findMany({ where: { tenantId, ...afterCursor(after) }, orderBy: newestFirst, take: limit + 1 });
    return toPage(rows, limit, (d) => this.view(d));
  }
}
