// The embedded server shares PGlite's single session between connections. One
// connection's extended-query batch (Parse ... Sync) must not be split by another's.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startEmbeddedPg, type EmbeddedPg } from '../apps/shared/db/embedded-pg.ts';
import { cstr, frame, int16, int32, RawConnection } from './helpers/pg-wire.ts';

describe('embedded Postgres: connections take whole turns', () => {
  let dir: string;
  let pgServer: EmbeddedPg;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ftest-pglite-'));
    pgServer = await startEmbeddedPg({ dir: path.join(dir, 'pg'), port: 0 });
  });
  after(async () => {
    await pgServer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps another connection's query out of a half-sent batch", async () => {
    const raw = await RawConnection.open(new URL(pgServer.url));
    const b = new pg.Client({ connectionString: pgServer.url });
    await b.connect();
    // A: Parse only, so its unnamed statement waits for the Bind.
    raw.send(frame('P', cstr(''), cstr('SELECT $1::int + $2::int AS n'), int16(0)));
    // B: a whole query with one parameter, on a connection of its own.
    let bDoneFirst: boolean | undefined;
    const bQuery = b.query('SELECT $1::text AS t', ['b']).then((r) => {
      bDoneFirst ??= true;
      return r.rows[0].t as string;
    });
    // Give B every chance to jump in (the bug: B's Parse replaced A's statement).
    await Promise.race([bQuery, new Promise((r) => setTimeout(r, 300))]);
    raw.send(
      Buffer.concat([
        frame('B', cstr(''), cstr(''), int16(0), int16(2), int32(2), Buffer.from('40'), int32(1), Buffer.from('2'), int16(0)),
        frame('E', cstr(''), int32(0)),
        frame('S'),
      ]),
    );
    const res = await raw.untilReady();
    bDoneFirst ??= false;
    assert.deepEqual(res.errors, []);
    assert.deepEqual(res.rows, ['42']);
    assert.equal(await bQuery, 'b');
    assert.equal(bDoneFirst, false, "B ran only once A's turn ended");
    await b.end();
    raw.close();
  });
});
