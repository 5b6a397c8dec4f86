import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import type { Config } from '../config.ts';
import { AppError, BadRequestError, NotFoundError, TransientError } from '../errors.ts';
import { hashInSlices, LARGE_BODY_BYTES, readInto } from './large-body.ts';
import { DependencyError } from '../faults/dependency-error.ts';
import { s3Fault } from '../faults/classify.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

/** Parses s3://bucket/key, refusing anything that could escape its prefix. */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!m) throw new BadRequestError('invalid_s3_uri', `Not an s3://bucket/key URI: ${uri}`);
  const key = m[2];
  if (key.split('/').some((part) => part === '..' || part === '.')) {
    throw new BadRequestError('invalid_s3_uri', 'S3 keys may not contain "." or ".." segments');
  }
  return { bucket: m[1], key };
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/** The project's one door to S3: every other module goes through it. */
export class Storage {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly config: Config['s3'] & { endpoint: string };
  private presigner?: S3Client;

  constructor(config: Config['s3'] & { endpoint: string }) {
    this.bucket = config.bucket;
    this.config = config;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      maxAttempts: 4,
    });
  }

  /** A URL that lets whoever holds it PUT this one object (in our bucket) for `expiresIn` seconds. */
  async presignPut(key: string, expiresIn: number): Promise<string> {
    const c = this.config;
    // Signed for the host the caller will use, and without the SDK's default checksum of an
    // empty body in the query (S3 would refuse any real upload against it).
    this.presigner ??= new S3Client({
      endpoint: c.publicEndpoint ?? c.endpoint,
      region: c.region,
      forcePathStyle: c.forcePathStyle,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    return getSignedUrl(this.presigner, new PutObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      await this.wrap(() => this.client.send(new CreateBucketCommand({ Bucket: this.bucket })));
    }
  }

  async ping(): Promise<void> {
    await this.wrap(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream', bucket = this.bucket): Promise<void> {
    if (typeof body === 'string' || body.byteLength < LARGE_BODY_BYTES) {
      await this.wrap(() => this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })));
      return;
    }
    // Hashed a slice at a time; given both hashes, the SDK computes neither in one blocking call.
    const hashes = await hashInSlices(body);
    await this.wrap(() => {
      const command = new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ChecksumCRC32: hashes.crc32 });
      command.middlewareStack.add(
        (next) => (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = hashes.sha256;
          return next(args);
        },
        { step: 'build', name: 'presetPayloadHash' },
      );
      return this.client.send(command);
    });
  }

  /** Reads an object whole, refusing (413) one larger than maxBytes before downloading it. */
  /** `listedSize` (from a listing, over 0) stands in for the HEAD a limit needs: one request, not two. */
  async getBytes(key: string, bucket = this.bucket, maxBytes?: number, listedSize?: number): Promise<Uint8Array> {
    const tooLarge = (size: number) => new AppError('object_too_large', `s3://${bucket}/${key} is ${size} bytes; the limit is ${maxBytes}`, 413, { size, limit: maxBytes });
    let range: string | undefined;
    if (maxBytes !== undefined && listedSize !== undefined && listedSize > 0) {
      if (listedSize > maxBytes) throw tooLarge(listedSize);
      // Rewritten since the listing: still read no further than the limit (and one byte to tell).
      if (Number.isFinite(maxBytes)) range = `bytes=0-${maxBytes}`;
    } else if (maxBytes !== undefined) {
      const head = await this.wrap(() => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), { bucket, key });
      const size = head.ContentLength ?? 0;
      if (size > maxBytes) throw tooLarge(size);
      // An object rewritten between the HEAD and the GET is still read no further than the limit (and one byte to tell).
      if (size > 0 && Number.isFinite(maxBytes)) range = `bytes=0-${maxBytes}`;
    }
    // Emptied since the listing: S3 answers a range on an empty object with 416. Ask again, as without a listing.
    const emptied = (err: unknown) => range && listedSize !== undefined && err instanceof S3ServiceException && err.$metadata.httpStatusCode === 416;
    const get = () => this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range })).catch((err: unknown) => {
      if (emptied(err)) return undefined;
      throw err;
    });
    const res = await this.wrap(get, { bucket, key });
    if (!res) return this.getBytes(key, bucket, maxBytes);
    if (!res.Body) throw new NotFoundError('object', `s3://${bucket}/${key}`);
    const length = res.ContentLength ?? 0;
    // A server that ignored the range: refuse before allocating or reading the body.
    if (maxBytes !== undefined && length > maxBytes) {
      (res.Body as Readable).destroy?.();
      throw tooLarge(length);
    }
    // A large body is copied as it arrives rather than joined in one go at the end.
    const bytes = length >= LARGE_BODY_BYTES
      ? await this.wrap(() => readInto(res.Body as Readable, length), { bucket, key })
      : await this.wrap(() => res.Body!.transformToByteArray(), { bucket, key });
    if (maxBytes !== undefined && bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength);
    return bytes;
  }

  /** An object's size (HEAD): 404 when it is missing. */
  async size(key: string, bucket = this.bucket): Promise<number> {
    const head = await this.wrap(() => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), { bucket, key });
    return head.ContentLength ?? 0;
  }

  /**
   * An object as a stream of bytes, read no further than maxBytes (and one byte to tell): the
   * caller refuses a body past it (an object rewritten after its HEAD) as it counts. No range for
   * an object its HEAD said was empty: S3 refuses one there (416).
   */
  async getStream(key: string, bucket = this.bucket, maxBytes?: number): Promise<Readable> {
    const range = maxBytes !== undefined && Number.isFinite(maxBytes) ? `bytes=0-${maxBytes}` : undefined;
    const res = await this.wrap(() => this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range })), { bucket, key });
    if (!res.Body) throw new NotFoundError('object', `s3://${bucket}/${key}`);
    return res.Body as Readable;
  }

  /**
   * Every object under the prefix, a page (1,000 keys) at a time. Paged with ListObjects (v1) and the
   * last key as the marker: s3rver (npm start, tests) makes v2 continuation tokens with DES, which
   * OpenSSL 3 refuses, so any v2 listing of more than one page failed there. S3 and MinIO serve both.
   */
  async list(prefix: string, bucket = this.bucket): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const res = await this.wrap(() => this.client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, Marker: marker })));
      for (const o of res.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      if (!res.IsTruncated || !res.Contents?.length) return out;
      marker = res.NextMarker ?? res.Contents[res.Contents.length - 1].Key;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000).map((o) => ({ Key: o.key }));
      await this.wrap(() => this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch } })));
    }
    return objects.length;
  }

  destroy(): void {
    this.client.destroy();
    this.presigner?.destroy();
  }

  /** Missing objects are the caller's fault (4xx); everything else is worth a retry. */
  private async wrap<T>(fn: () => Promise<T>, where?: { bucket: string; key: string }): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof S3ServiceException) {
        const status = err.$metadata.httpStatusCode ?? 0;
        if (where && (err.name === 'NoSuchKey' || err.name === 'NoSuchBucket' || status === 404)) {
          throw new NotFoundError('object', `s3://${where.bucket}/${where.key}`);
        }
        if (status === 403) throw new BadRequestError('s3_access_denied', 'Access to the S3 object was denied', where);
      }
      // No answer, a 5xx or throttling: S3 itself is down or busy (docs/outages.md).
      if (s3Fault(err)) throw new DependencyError('s3', `S3 request failed: ${(err as Error).message}`, 'storage_unavailable');
      throw new TransientError('storage_unavailable', `S3 request failed: ${(err as Error).message}`);
    }
  }
}
