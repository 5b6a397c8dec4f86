import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';

export type Db = PrismaClient;

export interface DbOptions {
  /** pg pool size; 1 for PGlite, which serves one connection. @defaultValue 5 */
  poolMax?: number;
}

export function createDb(databaseUrl: string, opts: DbOptions = {}): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.poolMax ?? 5 });
  return new PrismaClient({ adapter });
}
