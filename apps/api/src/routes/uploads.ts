import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../../shared/config.ts';
import { uploadPrefix } from '../../../shared/storage/upload-area.ts';
import { errorResponses } from '../schemas/common.ts';
import { CreateUploadBody, UploadResponse } from '../schemas/uploads.ts';
import { tenantOf } from '../plugins/auth.ts';

const uploads: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post('/v1/uploads', {
    schema: {
      tags: ['uploads'],
      operationId: 'createUpload',
      summary: 'A presigned URL to put one file in your upload area',
      description:
        'Registrations read from S3_BUCKET only under the tenant\'s own upload area, uploads/<tenantId>/ (or from S3_SOURCE_BUCKETS). ' +
        'This returns a presigned S3 PUT URL for one file there, valid for UPLOAD_URL_TTL_SECONDS, and the s3:// URI to register it by. ' +
        'PUT the bytes to `url` (a model needs model.json and each weight shard beside it, one URL each).',
      body: CreateUploadBody,
      response: { 200: UploadResponse, ...errorResponses({ 503: ['storage_unavailable'] }) },
    },
    handler: async (req) => {
      const key = uploadPrefix(tenantOf(req)) + req.body.name;
      const ttl = config.s3.uploadUrlTtlSeconds;
      return {
        uri: `s3://${app.storage.bucket}/${key}`,
        url: await app.storage.presignPut(key, ttl),
        method: 'PUT' as const,
        expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
      };
    },
  });
};

export default uploads;
