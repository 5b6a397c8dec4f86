// Postgres wire protocol 3 by hand: frames, and a bare connection that sends them one
// by one. Used where a client library would hide what the test needs to control.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';

export const cstr = (s: string) => Buffer.from(`${s}\0`);
export const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
export const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
export function frame(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

/** A bare protocol-3 connection: enough to send messages one by one and read the replies. */
export class RawConnection {
  private buf = Buffer.alloc(0);
  private waiter?: () => void;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
  }

  static async open(url: URL): Promise<RawConnection> {
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new RawConnection(socket);
    const params = Buffer.concat([cstr('user'), cstr('postgres'), cstr('database'), cstr('postgres'), Buffer.from([0])]);
    socket.write(Buffer.concat([int32(params.length + 8), int32(196608), params]));
    const hello = await c.untilReady();
    assert.deepEqual(hello.errors, []);
    return c;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Reads messages up to ReadyForQuery: the DataRows' first column and any errors. */
  async untilReady(): Promise<{ rows: string[]; errors: string[] }> {
    const rows: string[] = [];
    const errors: string[] = [];
    for (;;) {
      while (this.buf.length >= 5 && this.buf.length >= 1 + this.buf.readInt32BE(1)) {
        const type = String.fromCharCode(this.buf[0]);
        const len = this.buf.readInt32BE(1);
        const body = this.buf.subarray(5, 1 + len);
        this.buf = this.buf.subarray(1 + len);
        if (type === 'D') rows.push(body.subarray(6, 6 + body.readInt32BE(2)).toString());
        if (type === 'E') errors.push(body.toString().replace(/\0/g, ' '));
        if (type === 'Z') return { rows, errors };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  close(): void {
    this.socket.end(frame('X'));
  }
}
