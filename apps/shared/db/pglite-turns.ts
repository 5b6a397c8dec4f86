// PGlite is a single Postgres session; pglite-socket lets many connections share
// it. Its own queue (0.2.17) interleaves connections message by message, except
// inside a transaction, so one connection's Parse can replace another's unnamed
// statement between that one's Parse and Bind ("unnamed prepared statement does
// not exist", seen under `npm start` + `npm run demo`), and a failed message
// stops its queue for good. https://github.com/electric-sql/pglite/issues/1046
//
// This queue gives the session to one connection at a time, for a whole turn: from
// its first message until PGlite is ready for a query again outside a transaction
// (ReadyForQuery 'I'). Its methods are the ones PGLiteSocketHandler calls.
import type { PGlite } from '@electric-sql/pglite';

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const TERMINATE = 0x58; // 'X'
const IDLE = 0x49; // 'I': no transaction open
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
const ROLLBACK = simpleQuery('ROLLBACK');

export class SessionTurns {
  /** The connection whose turn it is; null when the session is free. */
  private owner: number | null = null;
  private waiting: Pending[] = [];
  private running = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    // A client's goodbye: nothing for PGlite to do, and its turn ends.
    if (message[0] === TERMINATE) return this.release(handlerId).then(() => 0);
    return new Promise((resolve, reject) => {
      this.waiting.push({ handlerId, message, onData, resolve, reject });
      void this.pump();
    });
  }

  getQueueLength(): number {
    return this.waiting.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.waiting = this.waiting.filter((p) => {
      if (p.handlerId === handlerId) p.reject(new Error('Handler disconnected'));
      return p.handlerId !== handlerId;
    });
  }

  /** Called when a connection goes away: whatever it left open is closed and its turn ends. */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    return this.release(handlerId);
  }

  private async release(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.db.runExclusive(async () => {
      // Its last message may still have been running when it left; once that is done, the turn may have ended.
      if (this.owner !== handlerId) return;
      // Ends an extended-query batch it left half sent, then any transaction it left open.
      // (On the wire: PGlite's exec() would wait for the lock held here.)
      await this.db.execProtocolRaw(SYNC);
      if (this.db.isInTransaction()) await this.db.execProtocolRaw(ROLLBACK);
    }).catch(() => undefined);
    if (this.owner === handlerId) this.owner = null;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const i = this.owner === null ? 0 : this.waiting.findIndex((p) => p.handlerId === this.owner);
        if (i < 0 || i >= this.waiting.length) return;
        const [p] = this.waiting.splice(i, 1);
        this.owner = p.handlerId;
        const chunks: Uint8Array[] = [];
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(p.message, {
              onRawData: (data) => {
                bytes += data.length;
                chunks.push(data);
                p.onData(data);
              },
            }),
          );
        } catch (err) {
          // The handler drops its connection, which ends its turn (release).
          p.reject(err as Error);
          continue;
        }
        if (lastReadyStatus(chunks) === IDLE && this.owner === p.handlerId) this.owner = null;
        p.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }
}

/** The status byte of the last ReadyForQuery in a run of backend messages, if any. */
function lastReadyStatus(chunks: Uint8Array[]): number | undefined {
  const buf = Buffer.concat(chunks);
  let status: number | undefined;
  for (let at = 0; at + 5 <= buf.length; at += 1 + buf.readInt32BE(at + 1)) {
    if (buf[at] === READY_FOR_QUERY && at + 5 < buf.length) status = buf[at + 5];
  }
  return status;
}

function simpleQuery(sql: string): Uint8Array {
  const body = Buffer.from(`${sql}\0`);
  const msg = Buffer.alloc(5 + body.length);
  msg[0] = 0x51; // 'Q'
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
}
