// A bench runs on a database of its own, created and dropped through the server's
// `postgres` database.
import pg from 'pg';

/** `url` with its path (database, or Redis db number) replaced by `name`. */
export function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `sql` on the `postgres` database of the server `baseUrl` points at (CREATE/DROP DATABASE). */
export async function adminQuery(baseUrl: string, sql: string, params?: unknown[]): Promise<void> {
  const c = new pg.Client({ connectionString: withDb(baseUrl, 'postgres') });
  await c.connect();
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}
