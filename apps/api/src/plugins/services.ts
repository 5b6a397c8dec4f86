// The API's services, each a plugin that declares what it stands on, so that
// routes reach Postgres and S3 only through them (routes/jobs.ts builds its own).
import fp from 'fastify-plugin';
import type { Config } from '../../../shared/config.ts';
import { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import { CheckpointService } from '../services/checkpoints.ts';
import { DatasetService } from '../services/datasets.ts';
import { ModelService } from '../services/models.ts';
import { ReadinessService } from '../services/readiness.ts';
import { TenantService } from '../services/tenants.ts';

declare module 'fastify' {
  interface FastifyInstance {
    modelService: ModelService;
    datasetService: DatasetService;
    tenantService: TenantService;
    checkpointService: CheckpointService;
    readinessService: ReadinessService;
  }
}

type Opts = { config: Config };

export const modelService = fp<Opts>(
  async (app, { config }) => {
    app.decorate('modelService', new ModelService({
      db: app.db,
      storage: app.storage,
      limits: { maxParams: config.maxModelParams, maxBytes: config.limits.modelBytes, maxLayers: config.limits.modelLayers },
      inspector: new ModelInspector(config.modelInspector),
      sourceBuckets: config.s3.sourceBuckets,
      log: app.log,
    }));
  },
  { name: 'model-service', dependencies: ['db', 'storage'] },
);

export const datasetService = fp<Opts>(
  async (app, { config }) => {
    const service = new DatasetService({
      db: app.db,
      storage: app.storage,
      limits: { maxBytes: config.maxDatasetBytes, maxRows: config.limits.datasetRows, maxFeatures: config.limits.datasetFeatures, maxClasses: config.limits.datasetClasses, maxPixels: config.limits.imagePixels },
      sourceBuckets: config.s3.sourceBuckets,
      background: { syncMaxBytes: config.datasetSyncMaxBytes, perTenant: config.limits.datasetRegistrationsPerTenant },
      log: app.log,
    });
    app.decorate('datasetService', service);
    // Registrations left validating by a process that died are failed (and their objects deleted) at startup and periodically.
    app.addHook('onReady', () => service.validator.startSweeping());
    app.addHook('onClose', () => service.validator.close());
  },
  { name: 'dataset-service', dependencies: ['db', 'storage'] },
);

export const tenantService = fp(
  async (app) => {
    app.decorate('tenantService', new TenantService(app.db));
  },
  { name: 'tenant-service', dependencies: ['db'] },
);

export const checkpointService = fp(
  async (app) => {
    app.decorate('checkpointService', new CheckpointService(app.db, app.storage));
  },
  { name: 'checkpoint-service', dependencies: ['db', 'storage'] },
);

export const readinessService = fp<Opts>(
  async (app, { config }) => {
    app.decorate('readinessService', new ReadinessService({ db: app.db, redis: app.redis, storage: app.storage, queueName: config.queueName }));
  },
  { name: 'readiness-service', dependencies: ['db', 'queue', 'storage'] },
);

/** All of them, for app.ts. */
export default fp<Opts>(
  async (app, opts) => {
    await app.register(modelService, opts);
    await app.register(datasetService, opts);
    await app.register(tenantService);
    await app.register(checkpointService);
    await app.register(readinessService, opts);
  },
  { name: 'services', dependencies: ['db', 'queue', 'storage'] },
);
