// A plain `pg` pool for the API's hot statements (issue 19). Prisma 7's query
// interpreter and adapter cost more CPU per statement than the statement itself
// (a third of the API's CPU under load); these few statements run here instead,
// as named prepared statements, returning what Prisma would: Dates for
// timestamps (stored as UTC without a zone, as Prisma writes them), parsed JSON.
import pg from 'pg';
import { DependencyError } from '../faults/dependency-error.ts';

export type SqlPool = pg.Pool;

const TIMESTAMP = 1114;
/** "2026-11-30 13:17:04.123" is UTC: Prisma writes timestamp(3) columns in UTC. */
const SHAPE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/;
/** Read by hand: Date's string parser is a visible cost on a 20-job page. Anything unusual (BC, infinity) goes to it. */
const utc = (s: string) => {
  const m = SHAPE.exec(s);
  if (!m) return new Date(`${s.replace(' ', 'T')}Z`);
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(3, '0').slice(0, 3))) : 0;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms));
};

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP) return utc;
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/**
 * `prepared: false` for the embedded PGlite (`npm start`): its connections share one session,
 * where a statement name one connection prepared already exists for the next; statements then
 * go unnamed (parsed every time).
 */
export function createSqlPool(databaseUrl: string, opts: { max?: number; prepared?: boolean } = {}): SqlPool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.max ?? 10, types });
  // An idle client's error (Postgres restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const unnamed = opts.prepared === false;
  pool.query = (async (config: unknown, ...rest: unknown[]) => {
    const named = unnamed && config && typeof config === 'object' && 'name' in config ? { ...config, name: undefined } : config;
    try {
      return await query(named, ...rest);
    } catch (err) {
      throw connectionFault(err) ?? err;
    }
  }) as typeof pool.query;
  return pool;
}

/**
 * A lost or refused connection, typed as a Postgres outage. pg raises these as
 * plain Errors (a socket code, or no code at all: "Connection terminated
 * unexpectedly", a connect timeout); Prisma wrapped them for its callers, this
 * pool must do it itself. An error the server sent (pg.DatabaseError, with its
 * SQLSTATE) is left as it is: the classifier knows which of those mean "down".
 */
function connectionFault(err: unknown): DependencyError | undefined {
  if (!(err instanceof Error) || err instanceof pg.DatabaseError) return undefined;
  const code = (err as { code?: unknown }).code;
  const lost = typeof code === 'string' ? /^E[A-Z]+$|^ERR_SOCKET/.test(code) : /connection|timeout exceeded when trying to connect/i.test(err.message);
  if (!lost) return undefined;
  const fault = new DependencyError('postgres', `postgres is unavailable: ${err.message}`);
  fault.cause = err;
  return fault;
}
