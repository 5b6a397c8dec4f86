import fp from 'fastify-plugin';
import type { Config } from '../../../shared/config.ts';
import { Storage } from '../../../shared/storage/s3-storage.ts';

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage;
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (!config.s3.endpoint) throw new Error('S3_ENDPOINT is required (npm start runs an embedded S3 server when it is unset)');
    const storage = new Storage({ ...config.s3, endpoint: config.s3.endpoint });
    await storage.ensureBucket();
    app.decorate('storage', storage);
    app.addHook('onClose', () => storage.destroy());
  },
  { name: 'storage' },
);
