// Dependency faults are told from the job's and the request's faults by the
// errors' types and codes: real errors from a real Postgres (a refused port, a
// connection terminated with 57P01, a division by zero) and a real S3 server
// (stopped, a missing object), and the rideOut loop that waits them out.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfigWith } from '../apps/shared/config.ts';
import { createDb } from '../apps/shared/db/prisma.ts';
import { createSqlPool } from '../apps/shared/db/sql.ts';
import { dependencyFault } from '../apps/shared/faults/classify.ts';
import { DependencyError, OutageBudgetExhaustedError } from '../apps/shared/faults/dependency-error.ts';
import { rideOut } from '../apps/shared/faults/ride-out.ts';
import { startEmbeddedS3 } from '../apps/shared/storage/embedded-s3.ts';
import { Storage } from '../apps/shared/storage/s3-storage.ts';
import { LeaseLostError } from '../apps/worker/src/job-records.ts';

const caught = async (p: Promise<unknown>) => p.then(() => assert.fail('expected an error'), (err: unknown) => err);

describe('dependency faults are classified by type and code', () => {
  const base = loadConfigWith({}).databaseUrl;
  const url = (db: string, port?: number) => {
    const u = new URL(base);
    u.pathname = `/${db}`;
    if (port) u.port = String(port);
    return u.toString();
  };

  it('Postgres: refused, terminated (57P01) and lost connections are postgres faults; an error of the query itself is not', async () => {
    const refused = createDb(url('postgres', 1));
    assert.equal(dependencyFault(await caught(refused.$queryRaw`SELECT 1`)), 'postgres');
    await refused.$disconnect();

    const db = createDb(url('postgres'), { poolMax: 1 });
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    // Inside a transaction the connection is held, so the next query meets the termination (a restart's 57P01).
    const terminated = await caught(db.$transaction(async (tx) => {
      const [{ pid }] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await tx.$queryRaw`SELECT 1`;
    }));
    await admin.end();
    assert.equal(dependencyFault(terminated), 'postgres', String(terminated));
    // An error the query itself causes (22012, division by zero) is not a fault of the database.
    const unique = await caught(db.$executeRawUnsafe(`SELECT 1/0`));
    assert.equal(dependencyFault(unique), undefined, String(unique));
    await db.$disconnect();
  });

  it("the API's plain pg pool: a refused port and a connection lost mid-query are postgres faults; a query's own error is not", async () => {
    const refused = createSqlPool(url('postgres', 1));
    assert.equal(dependencyFault(await caught(refused.query('SELECT 1'))), 'postgres');
    await refused.end();

    const sql = createSqlPool(url('postgres'), { max: 1 });
    const admin = new pg.Client({ connectionString: url('postgres') });
    await admin.connect();
    const [{ pid }] = (await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    const sleeping = caught(sql.query('SELECT pg_sleep(10)'));
    await new Promise((r) => setTimeout(r, 200));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await admin.end();
    const lost = await sleeping;
    assert.equal(dependencyFault(lost), 'postgres', String(lost));
    assert.equal(dependencyFault(await caught(sql.query({ name: 'div', text: 'SELECT 1/0' }))), undefined);
    await sql.end();
  });

  it('a lost lease and plain errors are not dependency faults', () => {
    assert.equal(dependencyFault(new LeaseLostError(randomUUID())), undefined);
    assert.equal(dependencyFault(new Error('ECONNRESET in a message is not a code')), undefined);
    assert.equal(dependencyFault(new DependencyError('redis', 'down')), 'redis');
  });

  describe('S3', () => {
    let dir: string;
    let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
    let storage: Storage;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'ftest-s3-'));
      s3 = await startEmbeddedS3({ dir, port: 0 });
      const config = loadConfigWith({ S3_BUCKET: `test-${randomUUID().slice(0, 8)}` });
      storage = new Storage({ ...config.s3, endpoint: s3.endpoint });
      await storage.ensureBucket();
    });
    after(async () => {
      storage.destroy();
      await s3.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });

    it('a missing object is not a fault; an S3 server that is gone is', async () => {
      const missing = await caught(storage.getBytes('nothing-here'));
      assert.equal(dependencyFault(missing), undefined);
      await s3.close();
      const gone = await caught(storage.put('k', 'v'));
      assert.ok(gone instanceof DependencyError, String(gone));
      assert.equal(dependencyFault(gone), 's3');
    });
  });

  it('rideOut retries a dependency fault until it clears, and gives up past the budget naming the dependency', async () => {
    let tries = 0;
    const value = await rideOut(async () => {
      if (++tries < 3) throw new DependencyError('s3', 'down');
      return 'ok';
    }, dependencyFault, { budgetMs: 10_000, retryMaxMs: 50 });
    assert.deepEqual([value, tries], ['ok', 3]);

    const job = new Error('the job itself');
    assert.equal(await caught(rideOut(async () => { throw job; }, dependencyFault, { budgetMs: 10_000, retryMaxMs: 50 })), job, 'other errors pass straight through');

    const exhausted = await caught(rideOut(async () => { throw new DependencyError('postgres', 'down'); }, dependencyFault, { budgetMs: 300, retryMaxMs: 50 }));
    assert.ok(exhausted instanceof OutageBudgetExhaustedError);
    assert.equal((exhausted as OutageBudgetExhaustedError).dependency, 'postgres');
    assert.match((exhausted as Error).message, /postgres .*OUTAGE_BUDGET_MS/);
  });
});
