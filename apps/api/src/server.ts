// Entry point of the API alone (`npm run start:api`).
import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../../shared/config.ts';
import { buildApp } from './app.ts';

const config = loadConfig();
const app = await buildApp(config);

closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

await app.listen({ host: config.host, port: config.port });
