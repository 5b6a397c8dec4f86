import { randomUUID } from 'node:crypto';
import type { Db } from '../../../shared/db/prisma.ts';
import type { Model } from '../../../shared/generated/prisma/client.ts';
import { AppError, ConflictError, LimitExceededError, NotFoundError } from '../../../shared/errors.ts';
import type { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../../shared/ml/stored-model.ts';
import { GRAPH_BASE_DIR, type ModelFormat } from '../../../shared/ml/model-format.ts';
import { isGraphModel } from '../../../shared/ml/model-files.ts';
import { decodeLayers, forView, toJson } from '../../../shared/jobs/decode.ts';
import { checkS3Source } from '../../../shared/net/outbound-url.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import { ModelSchema, type ModelResponse, type RegisterModelBody } from '../schemas/models.ts';
import { loadModelSource } from './model-sources.ts';
import { afterCursor, newestFirst, toPage } from './pagination.ts';
import { StoredRecordError, viewCheck, type ViewCheck } from './record-views.ts';

const modelViews: ViewCheck<typeof ModelSchema> = viewCheck(ModelSchema);

/** As stored; a value this code does not know fails the view's schema check (record-views.ts). */
const formatOf = (m: Pick<Model, 'format'>) => m.format as ModelFormat;

/** A graph-head's files: the head, and the base graph beside it (docs/models.md). */
function filesOf(m: Model): ModelResponse['files'] {
  const files = { modelJson: `/v1/models/${m.id}/${MODEL_JSON}`, weights: [`/v1/models/${m.id}/${WEIGHTS_FILE}`] };
  if (m.format !== 'graph-head') return files;
  return { ...files, base: { modelJson: `/v1/models/${m.id}/${GRAPH_BASE_DIR}${MODEL_JSON}`, weights: [`/v1/models/${m.id}/${GRAPH_BASE_DIR}${WEIGHTS_FILE}`], outputNode: m.graphOutput ?? '' } };
}

export function modelView(m: Model): ModelResponse {
  return {
    id: m.id,
    name: m.name,
    kind: m.kind,
    format: formatOf(m),
    sourceUri: m.sourceUri,
    inputShape: m.inputShape as ModelResponse['inputShape'],
    outputShape: m.outputShape as ModelResponse['outputShape'],
    labels: m.labels,
    layers: forView(decodeLayers, m.layers),
    totalParams: m.totalParams,
    trainableParams: m.trainableParams,
    lineage: { parentModelId: m.parentId, jobId: m.jobId },
    files: filesOf(m),
    createdAt: m.createdAt.toISOString(),
  };
}

export interface ModelLimits {
  maxParams: number;
  maxBytes: number;
  maxLayers: number;
}

export interface ModelServiceDeps {
  db: Db;
  storage: Storage;
  /** MAX_MODEL_PARAMS alone, or with MAX_MODEL_BYTES and MAX_MODEL_LAYERS. */
  limits: number | ModelLimits;
  /** Builds the untrusted files with tfjs in a child process, never on this event loop. */
  inspector: ModelInspector;
  /** S3_SOURCE_BUCKETS (config.s3.sourceBuckets); without it, only our own bucket. */
  sourceBuckets?: readonly string[];
  /** Where a stored row that no longer fits its schema is reported. */
  log: { error(obj: object, msg: string): void };
}

export class ModelService {
  private readonly db: Db;
  private readonly storage: Storage;
  private readonly limits: number | ModelLimits;
  private readonly inspector: ModelInspector;
  private readonly sourceBuckets: readonly string[];
  private readonly log: ModelServiceDeps['log'];

  constructor(deps: ModelServiceDeps) {
    ({ db: this.db, storage: this.storage, limits: this.limits, inspector: this.inspector, log: this.log } = deps);
    this.sourceBuckets = deps.sourceBuckets ?? [deps.storage.bucket];
  }

  /** Validates a LayersModel found in S3, then keeps our own copy of it. */
  async register(tenantId: string, body: RegisterModelBody): Promise<Model> {
    const loc = checkS3Source(body.uri, { bucket: this.storage.bucket, sourceBuckets: this.sourceBuckets }, tenantId);
    const limits = typeof this.limits === 'number' ? { maxParams: this.limits, maxBytes: this.limits * 4, maxLayers: Infinity } : this.limits;
    // A LayersModel, or a Keras file converted in the inspector's child (model-sources.ts).
    const { files, summary } = await loadModelSource({ storage: this.storage, inspector: this.inspector }, body, loc, limits);
    if (summary.totalParams > limits.maxParams) {
      throw new LimitExceededError('model_too_large', `The model has ${summary.totalParams} parameters`, 422, 'MAX_MODEL_PARAMS', limits.maxParams, summary.totalParams);
    }

    const id = randomUUID();
    const ours = `models/${id}/`;
    const row = {
      id,
      tenantId,
      name: body.name,
      kind: 'base' as const,
      // A Graph model's rows are its nodes (graph-summary.ts); it can only be a frozen base.
      format: (isGraphModel(files.modelJson) ? 'graph-model' : 'layers-model') as ModelFormat,
      sourceUri: body.uri,
      storagePrefix: ours,
      inputShape: summary.inputShape,
      outputShape: summary.outputShape,
      layers: toJson(decodeLayers, summary.layers),
      labels: body.labels ?? [],
      totalParams: summary.totalParams,
      trainableParams: summary.trainableParams,
    };
    // The reply, and every later read, is built from this row: one that would not fit the schema is never stored.
    modelViews.assertStorable(modelView({ ...row, layers: toJson(decodeLayers, summary.layers) as Model['layers'], graphOutput: null, parentId: null, jobId: null, createdAt: new Date() }));
    const modelJson = { ...files.modelJson, weightsManifest: [{ paths: [WEIGHTS_FILE], weights: files.modelJson.weightsManifest.flatMap((g) => g.weights) }] };
    await this.storage.put(ours + WEIGHTS_FILE, files.weights);
    await this.storage.put(ours + MODEL_JSON, JSON.stringify(modelJson), 'application/json');
    try {
      return await this.db.$transaction(async (tx) => {
        const created = await tx.model.create({ data: row });
        // As Postgres gave it back; a mismatch here rolls the row back with the files.
        modelViews.assertStorable(modelView(created));
        return created;
      });
    } catch (err) {
      await this.storage.deletePrefix(ours).catch(() => undefined);
      throw err;
    }
  }

  /** The row as the API shows it; undefined (logged) when it does not fit the schema. */
  private view(m: Model): ModelResponse | undefined {
    const v = modelView(m);
    const fault = modelViews.fault(v);
    if (!fault) return v;
    this.log.error({ modelId: m.id, fault }, 'stored model row does not fit its schema; left out of the response');
    return undefined;
  }

  /** GET /v1/models/:id: 500 stored_record_invalid for a row that cannot be shown. */
  async show(tenantId: string, id: string): Promise<ModelResponse> {
    const v = this.view(await this.get(tenantId, id));
    if (!v) throw new StoredRecordError('model', id);
    return v;
  }

  /** Another tenant's model is not found, exactly like one that does not exist. */
  async get(tenantId: string, id: string): Promise<Model> {
    const m = await this.db.model.findFirst({ where: { id, tenantId } });
    if (!m) throw new NotFoundError('model', id);
    return m;
  }

  async list(tenantId: string, limit: number, after?: string) {
    const rows = await this.db.model.findMany({ where: { tenantId, ...afterCursor(after) }, orderBy: newestFirst, take: limit + 1 });
    return toPage(rows, limit, (m) => this.view(m));
  }

  async file(tenantId: string, id: string, file: string): Promise<Uint8Array> {
    const m = await this.get(tenantId, id);
    return this.storage.getBytes(m.storagePrefix + file);
  }

  /** For a signed URL, which already names the one model it opens. */
  async fileOf(id: string, file: string): Promise<Uint8Array> {
    const m = await this.db.model.findUnique({ where: { id } });
    if (!m) throw new NotFoundError('model', id);
    return this.storage.getBytes(m.storagePrefix + file);
  }

  /**
   * A graph-head's base graph (base/model.json, base/weights.bin); `tenantId` null for a signed URL, which names
   * its model. Any other model has none: model_not_found, not a missing object.
   */
  async baseFile(tenantId: string | null, id: string, file: string): Promise<Uint8Array> {
    const m = tenantId === null ? await this.db.model.findUnique({ where: { id } }) : await this.get(tenantId, id);
    if (!m) throw new NotFoundError('model', id);
    if (m.format !== 'graph-head') throw new AppError('model_not_found', `Model ${id} has no base graph: only a head trained on a TensorFlow.js Graph model (format graph-head) has one`, 404, { id, format: m.format });
    return this.storage.getBytes(`${m.storagePrefix}${GRAPH_BASE_DIR}${file}`);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    // The row lock orders this against job creation, which takes FOR SHARE on the same row.
    const m = await this.db.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Model" WHERE id = ${id}::uuid AND "tenantId" = ${tenantId}::uuid FOR UPDATE`;
      if (locked.length === 0) throw new NotFoundError('model', id);
      const active = await tx.job.count({ where: { baseModelId: id, status: { in: ['queued', 'running'] } } });
      if (active > 0) throw new ConflictError('model_in_use', `Model ${id} is the base of ${active} queued or running job(s)`, { activeJobs: active });
      // A running sweep starts its pending trials from this model later: deleting it now would fail every start.
      const sweeps = await tx.sweep.count({ where: { tenantId, status: 'running', spec: { path: ['job', 'baseModelId'], equals: id } } });
      if (sweeps > 0) throw new ConflictError('model_in_use', `Model ${id} is the base of ${sweeps} running sweep(s)`, { activeJobs: active, runningSweeps: sweeps });
      return tx.model.delete({ where: { id } });
    });
    await this.storage.deletePrefix(m.storagePrefix);
  }
}
