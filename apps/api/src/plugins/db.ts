import fp from 'fastify-plugin';
import { createDb, type Db } from '../../../shared/db/prisma.ts';
import { createSqlPool, type SqlPool } from '../../../shared/db/sql.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    /** Plain pg, for the hot statements (job reads, submits, key lookups): see shared/db/sql.ts. */
    sql: SqlPool;
  }
}

export default fp<{ databaseUrl: string; embedded?: boolean }>(
  async (app, opts) => {
    const db = createDb(opts.databaseUrl);
    const sql = createSqlPool(opts.databaseUrl, { prepared: !opts.embedded });
    app.decorate('db', db);
    app.decorate('sql', sql);
    app.addHook('onClose', async () => {
      await Promise.all([db.$disconnect(), sql.end()]);
    });
  },
  { name: 'db' },
);
