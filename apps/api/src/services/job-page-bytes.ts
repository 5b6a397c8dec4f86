// The bytes of recently sent job-list pages, per instance (issue 19, fifth round):
// once a page's bodies all come from the job cache, assembling it again is only
// joining the same strings and encoding them to UTF-8, about a tenth of a list's
// CPU. A page is reused only while its keys' tail (hasMore, nextCursor) and every
// body on it are the same strings as when it was kept, so it is never older than
// the bodies it was made of. Bounded in bytes (each page's bytes, the strings that
// name it and a fixed overhead) and in entries; the oldest pages go first.

/** A Map entry, its record and the bodies array's header, roughly, in V8. */
export const PAGE_OVERHEAD = 256;

/** What a kept page holds: its bytes twice (the Buffer, and the bodies it may keep alive after the cache dropped them), its key and tail as UTF-16, a slot per body, the overhead. */
export function pageCost(key: string, bodies: string[], tail: string, bytes: Buffer): number {
  return 2 * bytes.length + 2 * (key.length + tail.length) + 8 * bodies.length + PAGE_OVERHEAD;
}

interface Kept {
  bodies: string[];
  tail: string;
  bytes: Buffer;
  cost: number;
}

export class JobPageBytes {
  readonly #pages = new Map<string, Kept>();
  #cost = 0;

  constructor(private readonly maxBytes = 8 * 1024 * 1024, private readonly maxPages = 4096) {}

  /** The page kept under `key`, if it was made of exactly these bodies and this tail. */
  get(key: string, bodies: string[], tail: string): Buffer | undefined {
    const p = this.#pages.get(key);
    if (!p || p.tail !== tail || p.bodies.length !== bodies.length) return undefined;
    for (let i = 0; i < bodies.length; i++) if (p.bodies[i] !== bodies[i]) return undefined;
    return p.bytes;
  }

  set(key: string, bodies: string[], tail: string, bytes: Buffer): void {
    this.#drop(key);
    const cost = pageCost(key, bodies, tail, bytes);
    if (cost > this.maxBytes / 10) return;
    for (const k of this.#pages.keys()) {
      if (this.#cost + cost <= this.maxBytes && this.#pages.size < this.maxPages) break;
      this.#drop(k);
    }
    this.#pages.set(key, { bodies, tail, bytes: ownBytes(bytes), cost });
    this.#cost += cost;
  }

  #drop(key: string) {
    const p = this.#pages.get(key);
    if (!p) return;
    this.#cost -= p.cost;
    this.#pages.delete(key);
  }
}

/** A small Buffer is a slice of an 8 KiB pool block; keeping the slice would keep the whole block alive, uncounted. */
function ownBytes(bytes: Buffer): Buffer {
  if (bytes.buffer.byteLength === bytes.length) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
