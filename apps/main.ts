// `npm start`: everything a newcomer needs in one process. Starts an embedded
// Postgres when DATABASE_URL is unset (or creates the database when it is set),
// migrates it, starts an embedded S3 server when S3_ENDPOINT is unset, then
// the API and one worker (which trains in sandboxed child processes).
import closeWithGrace from 'close-with-grace';
import { loadConfig, withDatabaseUrl, withS3Endpoint } from './shared/config.ts';
import { applyMigrations, ensureDatabase } from './shared/db/migrator.ts';
import { startEmbeddedPg, type EmbeddedPg } from './shared/db/embedded-pg.ts';
import { createLogger } from './shared/logger.ts';
import { startEmbeddedS3, type EmbeddedS3 } from './shared/storage/embedded-s3.ts';
import { buildApp } from './api/src/app.ts';
import { startWorker } from './worker/src/worker.ts';
import { createDb } from './shared/db/prisma.ts';
import { ensureQuickstartKey } from './shared/auth/quickstart-key.ts';

let config = loadConfig();
const log = createLogger(config, { role: 'main' });

let embeddedPg: EmbeddedPg | undefined;
if (config.embeddedPg) {
  const { dir } = config.embeddedPg;
  embeddedPg = await startEmbeddedPg(config.embeddedPg);
  config = withDatabaseUrl(config, embeddedPg.url);
  log.info({ url: embeddedPg.url, dir }, 'embedded Postgres (PGlite) started; set DATABASE_URL to use your own');
} else {
  await ensureDatabase(config.databaseUrl);
}
const migrations = await applyMigrations(config.databaseUrl);
log.info({ applied: migrations.applied }, 'database ready');
{
  const db = createDb(config.databaseUrl, { poolMax: 1 });
  await ensureQuickstartKey(db, config.quickstartKeyFile);
  await db.$disconnect();
  // The path, never the key: keys stay out of logs.
  log.info({ file: config.quickstartKeyFile }, `API key for the default tenant: send it as "Authorization: Bearer $(cat ${config.quickstartKeyFile})"`);
}

let embedded: EmbeddedS3 | undefined;
if (!config.s3.endpoint) {
  embedded = await startEmbeddedS3(config.embeddedS3);
  config = withS3Endpoint(config, embedded.endpoint);
  log.info({ endpoint: embedded.endpoint, dir: config.embeddedS3.dir }, 'embedded S3 server started');
}

const app = await buildApp(config);
const worker = await startWorker(config, createLogger(config, { role: 'worker' }));

closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000 }, async ({ signal, err }) => {
  if (err) log.error({ err }, 'closing after an error');
  else log.info({ signal }, 'shutting down');
  await app.close();
  await worker.close();
  await embedded?.close();
  // Last: the API, the worker and its sandboxes were using it.
  await embeddedPg?.close();
});

await app.listen({ host: config.host, port: config.port });
