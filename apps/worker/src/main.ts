// Entry point of a worker process (`npm run start:worker`): one per GPU,
// on any number of machines sharing Redis, Postgres and S3.
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { startWorker } from './worker.ts';

const config = loadConfig();
const log = createLogger(config, { role: 'worker' });
if (!config.s3.endpoint) {
  log.fatal('S3_ENDPOINT is required for a standalone worker (npm start runs an embedded S3 server instead)');
  process.exit(1);
}
const worker = await startWorker(config, log);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await worker.close();
    process.exit(0);
  });
}
