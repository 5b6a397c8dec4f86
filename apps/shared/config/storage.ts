// Where the service keeps things: Postgres, Redis, S3, and the embedded stand-ins
// that `npm start` runs when none is configured.
import { bool, bucket, int, list, optionalUrl, str, url, when } from './kinds.ts';
import type { Env } from './setting.ts';

const databaseUrlSet = (env: Env): boolean => env.DATABASE_URL !== undefined && env.DATABASE_URL !== '';

const s3Bucket = bucket('S3_BUCKET', 'finetune', { doc: 'bucket for datasets, models and checkpoints (created if missing)' });

export const storage = {
  databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:'], 'postgresql://postgres@127.0.0.1:5432/finetune', {
    shown: 'unset',
    doc: 'Postgres. Unset: `npm start` runs the embedded PGlite; everything else uses `postgresql://postgres@127.0.0.1:5432/finetune`',
  }),
  /** Only where DATABASE_URL is unset: the embedded Postgres (PGlite) that `npm start` runs on, on disk. */
  embeddedPg: when((env) => !databaseUrlSet(env), {
    dir: str('EMBEDDED_PG_DIR', '.data/pg', { what: 'path', doc: 'embedded Postgres (PGlite) data directory (`npm start` without `DATABASE_URL`)' }),
    // Port 0: any free port (the sandboxes are handed the URL).
    port: int('EMBEDDED_PG_PORT', 0, { doc: 'embedded Postgres port on `127.0.0.1`; `0` picks a free one' }),
  }),
  redisUrl: url('REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379', { doc: 'Redis' }),
  queueName: str('QUEUE_NAME', 'finetune-jobs', { doc: 'BullMQ queue name; the API and its workers must agree' }),
  s3: {
    endpoint: optionalUrl('S3_ENDPOINT', ['http:', 'https:'], {
      doc: 'S3 endpoint URL. Unset: `npm start` runs the embedded s3rver; `start:api` and `start:worker` refuse to start',
    }),
    bucket: s3Bucket,
    region: str('S3_REGION', 'us-east-1', { doc: 'the region requests are signed for' }),
    // s3rver accepts any credentials; the embedded server and tests use these.
    accessKeyId: str('S3_ACCESS_KEY_ID', 'S3RVER', { doc: 's3rver accepts any credentials' }),
    secretAccessKey: str('S3_SECRET_ACCESS_KEY', 'S3RVER', { doc: 'the secret that goes with `S3_ACCESS_KEY_ID`' }),
    forcePathStyle: bool('S3_FORCE_PATH_STYLE', true, { doc: 'path-style addressing (s3rver, MinIO)' }),
    sourceBuckets: list('S3_SOURCE_BUCKETS', 'bucket', {
      including: s3Bucket,
      shown: 'empty (only `S3_BUCKET`)',
      doc: 'buckets, besides `S3_BUCKET`, that dataset and model registrations may read from (in `S3_BUCKET`, only the caller\'s `uploads/<tenantId>/`)',
    }),
    publicEndpoint: optionalUrl('S3_PUBLIC_ENDPOINT', ['http:', 'https:'], {
      shown: '`S3_ENDPOINT`',
      doc: 'the S3 endpoint that presigned upload URLs name: where callers reach S3, if not where the service does (a compose network\'s `minio:9000`)',
    }),
    // SigV4 presigned URLs last at most 7 days.
    uploadUrlTtlSeconds: int('UPLOAD_URL_TTL_SECONDS', 900, { min: 10, cap: 604_800, doc: 'how long a presigned upload URL (`POST /v1/uploads`) works' }),
  },
  embeddedS3: {
    dir: str('EMBEDDED_S3_DIR', '.data/s3', { what: 'path', doc: 'embedded s3rver data directory (`npm start` only)' }),
    port: int('EMBEDDED_S3_PORT', 4569, { doc: 'embedded s3rver port' }),
  },
  quickstartKeyFile: str('QUICKSTART_KEY_FILE', '.data/api-key', {
    what: 'path',
    doc: 'where `npm start` writes the default tenant\'s API key (`npm run demo` reads it)',
  }),
};
