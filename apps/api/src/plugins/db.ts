import fp from 'fastify-plugin';
import { createDb, type Db } from '../../../shared/db/prisma.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

export default fp<{ databaseUrl: string }>(
  async (app, opts) => {
    const db = createDb(opts.databaseUrl);
    app.decorate('db', db);
    app.addHook('onClose', () => db.$disconnect());
  },
  { name: 'db' },
);
