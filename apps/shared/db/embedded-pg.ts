// Postgres compiled to WebAssembly (PGlite), kept on local disk and served on a
// loopback TCP port with pglite-socket's protocol handler, so `npm start` needs
// no Postgres installed and still runs the same migrations and Prisma code
// (adapter-pg over TCP) as production. The training sandboxes reach it through
// DATABASE_URL like any other database.
//
// PGlite is one Postgres session, which the connections take turns on (see
// pglite-turns.ts): SKIP LOCKED and advisory locks never wait, since no other
// session holds a lock, and an open transaction makes the others wait until it ends.
// https://github.com/electric-sql/pglite/tree/main/packages/pglite-socket
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { SessionTurns } from './pglite-turns.ts';

export interface EmbeddedPg {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  close(): Promise<void>;
}

type QueryQueue = ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'];

export async function startEmbeddedPg(opts: { dir: string; port: number; host?: string }): Promise<EmbeddedPg> {
  const dir = path.resolve(opts.dir);
  await mkdir(path.dirname(dir), { recursive: true });
  const releaseLock = await lockDataDir(`${dir}.lock`);
  let db: PGlite | undefined;
  let server: Server | undefined;
  const handlers = new Set<PGLiteSocketHandler>();
  try {
    db = await PGlite.create({ dataDir: dir });
    // Its methods are the ones the handler calls on pglite-socket's own queue.
    const turns = new SessionTurns(db) as unknown as QueryQueue;
    server = createServer((socket) => {
      const handler = new PGLiteSocketHandler({ queryQueue: turns, closeOnDetach: true });
      handlers.add(handler);
      handler.addEventListener('close', () => handlers.delete(handler));
      handler.addEventListener('error', () => handlers.delete(handler));
      handler.attach(socket).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    server?.close();
    await db?.close().catch(() => undefined);
    await releaseLock();
    throw err;
  }
  const running = { db, server };
  const { address, port } = running.server.address() as AddressInfo;
  return {
    url: `postgresql://postgres@${address}:${port}/postgres`,
    async close() {
      const closed = new Promise((resolve) => running.server.close(resolve));
      await Promise.all([...handlers].map((h) => h.detach(true)));
      await closed;
      // Flushes to disk; what was committed is there on the next start.
      await running.db.close();
      await releaseLock();
    },
  };
}

/**
 * PGlite has no postmaster.pid: two processes opening one data directory would
 * corrupt it. A lock file beside it names the owner; a dead owner's is taken over
 * (and one naming this very process: a container restarts with the same pid).
 */
async function lockDataDir(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new Error(`The embedded Postgres data in ${file.slice(0, -'.lock'.length)} is in use by process ${owner} (if it is not, delete ${file})`);
    }
    await rm(file, { force: true });
  }
  throw new Error(`Could not lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
