// The SQL migrations and schema.prisma agree: every model is written and read
// back through Prisma against a freshly migrated database.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../apps/shared/config.ts';
import { createDb, type Db } from '../apps/shared/db/prisma.ts';
import { applyMigrations, ensureDatabase, readMigrations } from '../apps/shared/db/migrator.ts';

describe('migrations', () => {
  const base = loadConfig().databaseUrl;
  const url = new URL(base);
  url.pathname = `/ftest_mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const databaseUrl = url.toString();
  let db: Db;

  before(async () => {
    await ensureDatabase(databaseUrl);
    db = createDb(databaseUrl);
  });
  after(async () => {
    await db?.$disconnect();
    const admin = new pg.Client({ connectionString: base.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  });

  it('applies every migration once and records it like prisma migrate deploy', async () => {
    const migrations = await readMigrations();
    const first = await applyMigrations(databaseUrl);
    assert.deepEqual(first.applied, migrations.map((m) => m.name));
    const second = await applyMigrations(databaseUrl);
    assert.deepEqual(second.applied, []);
    assert.deepEqual(second.skipped, migrations.map((m) => m.name));

    const rows = await db.$queryRaw<Array<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>>`
      SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`;
    assert.equal(rows.length, migrations.length);
    rows.forEach((r, i) => {
      assert.equal(r.migration_name, migrations[i].name);
      assert.equal(r.checksum, migrations[i].checksum);
      assert.match(r.checksum, /^[0-9a-f]{64}$/);
      assert.ok(r.finished_at);
      assert.equal(r.applied_steps_count, 1);
    });
  });

  it('exercises every Prisma model against the migrated tables', async () => {
    // The migration puts existing rows in a default tenant.
    const tenant = await db.tenant.findUniqueOrThrow({ where: { id: '00000000-0000-4000-8000-000000000000' } });
    assert.equal(tenant.name, 'default');
    const tenantId = tenant.id;
    await db.apiKey.create({ data: { id: randomUUID(), tenantId, name: 'k', prefix: 'ft_abc', hash: 'h1' } });
    await assert.rejects(db.apiKey.create({ data: { id: randomUUID(), tenantId, name: 'k2', prefix: 'ft_abc', hash: 'h1' } }), 'key hashes are unique');
    const dataset = await db.dataset.create({
      data: { id: randomUUID(), tenantId, name: 'd', source: { type: 'mnist' }, featureShape: [28, 28, 1], numExamples: 10, labels: ['0', '1'], classCounts: { '0': 5, '1': 5 } },
    });
    const parent = await db.model.create({
      data: {
        id: randomUUID(), tenantId, name: 'base', kind: 'base', storagePrefix: 'models/x/', inputShape: [null, 4], outputShape: [null, 2],
        layers: [], labels: [], totalParams: 10, trainableParams: 10, sourceUri: 's3://b/k/model.json',
      },
    });
    const job = await db.job.create({
      data: {
        id: randomUUID(), tenantId, type: 'finetune', spec: { a: 1 }, baseModelId: parent.id, trainDatasetId: dataset.id,
        validationDatasetId: dataset.id, testDatasetId: dataset.id, totalEpochs: 2,
      },
    });
    assert.equal(job.status, 'queued');
    assert.equal(job.attempts, 0);
    await db.job.update({ where: { id: job.id }, data: { status: 'running', stage: 'train', cancelRequestedAt: new Date(), latestMetrics: { loss: 1 }, evaluation: { accuracy: 1 } } });
    await db.epochMetric.create({ data: { jobId: job.id, epoch: 1, loss: 0.5, accuracy: 0.8, valLoss: 0.6, valAccuracy: 0.7, durationMs: 10, examplesPerSec: 100 } });
    await db.checkpoint.create({ data: { jobId: job.id, epoch: 1, prefix: 'jobs/x/checkpoints/epoch-1/', sizeBytes: 40 } });
    const leased = await db.job.update({ where: { id: job.id }, data: { leaseToken: { increment: 1 }, leaseExpiresAt: new Date() } });
    assert.equal(leased.leaseToken, 1);
    const e1 = await db.jobEvent.create({ data: { jobId: job.id, type: 'status', data: { status: 'running' } } });
    const e2 = await db.jobEvent.create({ data: { jobId: job.id, type: 'epoch', data: { epoch: 1 } } });
    assert.ok(e2.id > e1.id, 'event ids grow');
    await db.idempotencyKey.create({ data: { scope: 'POST /v1/jobs', key: 'k', requestHash: 'h', state: 'in_flight', expiresAt: new Date(Date.now() + 1000) } });
    await assert.rejects(db.idempotencyKey.create({ data: { scope: 'POST /v1/jobs', key: 'k', requestHash: 'h2', state: 'in_flight', expiresAt: new Date() } }));
    await db.idempotencyKey.update({ where: { scope_key: { scope: 'POST /v1/jobs', key: 'k' } }, data: { state: 'done', statusCode: 201, response: { id: 1 } } });
    const child = await db.model.create({
      data: {
        id: randomUUID(), tenantId, name: 'ft', kind: 'fine_tuned', storagePrefix: 'models/y/', inputShape: [null, 4], outputShape: [null, 2],
        layers: [], labels: ['0', '1'], totalParams: 10, trainableParams: 2, parentId: parent.id, jobId: job.id,
      },
    });

    const loaded = await db.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { baseModel: true, trainDataset: true, validationDataset: true, testDataset: true, outputModel: true, metrics: true, checkpoints: true },
    });
    assert.equal(loaded.stage, 'train');
    assert.equal(loaded.outputModel?.id, child.id);
    assert.equal(loaded.metrics[0].valAccuracy, 0.7);
    assert.equal(loaded.checkpoints[0].sizeBytes, 40);
    assert.deepEqual(loaded.trainDataset.featureShape, [28, 28, 1]);
    const withChildren = await db.model.findUniqueOrThrow({ where: { id: parent.id }, include: { children: true, baseOf: true } });
    assert.equal(withChildren.children[0].id, child.id);
    assert.equal(withChildren.baseOf[0].id, job.id);

    // A sweep's trial is a job that names it; deleting the job leaves the planned trial, deleting the sweep removes its trials.
    const sweep = await db.sweep.create({ data: { id: randomUUID(), tenantId, spec: { method: 'grid' } } });
    assert.equal(sweep.status, 'running');
    await db.sweepTrial.create({ data: { sweepId: sweep.id, index: 0, params: { learningRate: 0.1 }, spec: { a: 1 }, featureGroup: 'features', jobId: job.id } });
    await db.job.update({ where: { id: job.id }, data: { sweepId: sweep.id } });
    const trial = await db.sweepTrial.findUniqueOrThrow({ where: { jobId: job.id }, include: { job: true, sweep: { include: { jobs: true } } } });
    assert.deepEqual(trial.rungs, {});
    assert.equal(trial.sweep.jobs[0].id, job.id);

    // Unique (jobId, epoch) holds; deleting a job cascades to its metrics and checkpoints.
    await assert.rejects(db.epochMetric.create({ data: { jobId: job.id, epoch: 1, loss: 1, durationMs: 1, examplesPerSec: 1 } }));
    await db.model.delete({ where: { id: child.id } });
    await db.job.delete({ where: { id: job.id } });
    assert.equal(await db.epochMetric.count(), 0);
    assert.equal(await db.checkpoint.count(), 0);
    assert.equal(await db.jobEvent.count(), 0);
    assert.equal((await db.sweepTrial.findFirstOrThrow({ where: { sweepId: sweep.id } })).jobId, null);
    await db.sweep.delete({ where: { id: sweep.id } });
    assert.equal(await db.sweepTrial.count(), 0);
  });
});
