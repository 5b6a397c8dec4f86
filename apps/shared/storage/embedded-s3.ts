// An S3-protocol server on local disk (s3rver), so a newcomer's `npm start`
// and the tests run the same S3 code path as production, with nothing to install.
import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

export interface EmbeddedS3 {
  endpoint: string;
  close(): Promise<void>;
}

export async function startEmbeddedS3(opts: { dir: string; port: number; host?: string }): Promise<EmbeddedS3> {
  await mkdir(opts.dir, { recursive: true });
  const server = new S3rver({ port: opts.port, address: opts.host ?? '127.0.0.1', directory: opts.dir, silent: true });
  const info = await server.run();
  return {
    endpoint: `http://${info.address}:${info.port}`,
    close: () => server.close(),
  };
}
