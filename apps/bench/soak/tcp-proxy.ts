// A TCP proxy between the service and one of its dependencies (Postgres,
// Redis, S3) that a test or the soak controls: cut() resets every connection
// through it and refuses new ones, as a dependency that restarts or goes away
// would; restore() lets connections through again; hold() delays the answers
// (a slow dependency) until release(). The shared Postgres and
// Redis are never stopped: only this path to them is.
import net from 'node:net';

export interface TcpProxy {
  /** 127.0.0.1:<port> of the proxy. */
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /** Resets every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Holds back what the dependency sends (the requests still reach it) until release(). */
  hold(): void;
  release(): void;
  readonly down: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  let held: [net.Socket, Buffer][] | undefined;
  const server = net.createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (b: Buffer) => (held ? held.push([client, b]) : client.write(b)));
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    via(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
    },
    cut() {
      down = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    hold() {
      held ??= [];
    },
    release() {
      const q = held ?? [];
      held = undefined;
      for (const [c, b] of q) if (!c.destroyed) c.write(b);
    },
    get down() {
      return down;
    },
    async close() {
      down = true;
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host and port of a URL, for startTcpProxy. */
export function targetOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const defaults: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'http:': 80, 'https:': 443 };
  return { host: u.hostname, port: Number(u.port || defaults[u.protocol]) };
}
