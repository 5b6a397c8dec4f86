// Large object bodies without stalling the event loop. The SDK hashes a body
// in one synchronous call (SHA-256 for the signature on an http endpoint, CRC32
// for the checksum) and joins a download into one buffer at the end: for a
// 50 MB model that is one long stall for every request on the process. Here
// both hashes are computed a slice at a time, yielding between slices, and
// handed to the SDK (which then skips its own); a download is copied into its
// buffer chunk by chunk as it arrives.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

/** From this size up, put() and getBytes() take the slow-and-steady path. */
export const LARGE_BODY_BYTES = 4 * 2 ** 20;
const SLICE_BYTES = 2 ** 20;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface BodyHashes {
  /** Hex, for x-amz-content-sha256 (the payload hash SigV4 signs). */
  sha256: string;
  /** Base64 of the big-endian CRC32, for x-amz-checksum-crc32 (S3 checks the bytes it stored). */
  crc32: string;
}

export async function hashInSlices(body: Uint8Array): Promise<BodyHashes> {
  const sha = createHash('sha256');
  let crc = 0;
  for (let at = 0; at < body.byteLength; at += SLICE_BYTES) {
    const slice = body.subarray(at, at + SLICE_BYTES);
    sha.update(slice);
    crc = crc32(slice, crc);
    await yieldToLoop();
  }
  const be = Buffer.alloc(4);
  be.writeUInt32BE(crc >>> 0);
  return { sha256: sha.digest('hex'), crc32: be.toString('base64') };
}

/** A response body of known length, copied into one buffer as its chunks arrive. */
export async function readInto(stream: Readable, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    if (at + chunk.byteLength > length) {
      stream.destroy();
      throw new Error(`the response is longer than its Content-Length (${length})`);
    }
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return at === out.byteLength ? out : out.subarray(0, at);
}
