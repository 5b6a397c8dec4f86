import { Type, type Static } from '@sinclair/typebox';
import { UPLOAD_NAME_PATTERN } from '../../../shared/storage/upload-area.ts';
import { Timestamp } from './common.ts';

export const CreateUploadBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 512,
      pattern: UPLOAD_NAME_PATTERN,
      description: 'The file\'s name in your upload area, such as iris.csv or my-base/model.json: segments of letters, digits, ".", "_" and "-"',
    }),
  },
  { additionalProperties: false, examples: [{ name: 'my-base/model.json' }] },
);
export type CreateUploadBody = Static<typeof CreateUploadBody>;

export const UploadResponse = Type.Object({
  uri: Type.String({ description: 's3:// URI of the file, to name in POST /v1/datasets or POST /v1/models once it is there' }),
  url: Type.String({ description: 'Presigned S3 URL: send the file\'s bytes with PUT before expiresAt' }),
  method: Type.Literal('PUT'),
  expiresAt: Timestamp,
});
export type UploadResponse = Static<typeof UploadResponse>;
