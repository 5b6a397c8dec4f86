// finetune uploads put: files into the caller's upload area, straight to S3
// through presigned URLs, ready for `datasets add --s3` and `models add --uri`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { str, type Command } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { table } from '../format.ts';

export const uploadCommands: Record<string, Command> = {
  put: {
    usage: '<file> [<file>...] [--prefix <dir/>]',
    summary: 'Upload files to your upload area; prints the s3:// URI to register each by',
    help: 'Each file keeps its base name, under --prefix if given: `uploads put model.json weights.bin --prefix my-base/` puts a model (model.json and its shard side by side).',
    options: { prefix: { type: 'string' } },
    args: [1, 64],
    async run(ctx, v, files) {
      const prefix = str(v, 'prefix') ?? '';
      if (prefix && !prefix.endsWith('/')) throw new UsageError('--prefix ends with "/", as a folder does');
      const uploaded: Array<{ file: string; uri: string }> = [];
      for (const file of files) {
        const bytes = await readFile(file).catch(() => { throw new UsageError(`cannot read ${file}`); });
        uploaded.push({ file, uri: await ctx.client.uploads.put(prefix + path.basename(file), bytes, { idempotencyKey: randomUUID() }) });
      }
      ctx.print(uploaded, () => table(['file', 'uri'], uploaded.map((u) => [u.file, u.uri])));
      return 0;
    },
  },
};
