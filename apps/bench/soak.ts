// `npm run soak`: a fault soak. It submits pretrain jobs to an in-process API
// and runs them on real worker processes while it kill -9s and SIGTERMs
// workers at random and FLUSHDBs Redis (Redis losing its data), and in turn
// restarts the database, cuts S3 for --storage-outage seconds and restarts
// Redis empty (apps/bench/soak/outages.ts, on TCP proxies), then checks that
// every accepted job still finished and that the API never answered 500. A script, not a test, and not in CI.
// Everything it uses is its own: a fresh Postgres database, an embedded S3
// server in a temp dir, a dedicated Redis logical database and queue name.
//
//   npm run soak -- [--jobs 20] [--workers 2] [--minutes 10] [--kill-every 8] [--flush-every 30] [--outage-every 45] [--storage-outage 20]
//                   [--redis-db 9] [--seed N] [--drain-minutes 2] [--worker-log-level warn] [--keep] [--force]
//
// --keep leaves the database, the S3 dir and the Redis db behind for a look.
// --force runs even when the Redis db already holds keys (they will be flushed).
// Worker logs (warn level unless --worker-log-level says otherwise) stay in a temp dir, named at the end.
// Exit code 0 when no job was lost or failed and the API gave no 5xx but 503, 1 otherwise. The last line of
// the report is the same figures as JSON, prefixed `soak-result `.
// It calls the API through the typed client (apps/client), as a tenant it makes
// with the admin routes. The parts are in apps/bench/soak/ (run.ts: the phases).
import { stamp, say } from './soak/log.ts';
import { readOptions } from './soak/options.ts';
import { Soak } from './soak/run.ts';

const soak = new Soak(readOptions());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (soak.interrupted) {
      console.error('second signal: exiting without finishing cleanup');
      process.exit(130);
    }
    soak.interrupt();
    say(`${signal}: cleaning up`);
    void soak.cleanup().finally(() => process.exit(130));
  });
}
// Last resort (an exception on the way): no worker outlives the script.
process.on('exit', () => soak.killWorkers());

let code = 1;
try {
  code = await soak.run();
} catch (err) {
  console.error(`${stamp()} soak aborted:`, err);
  code = 1;
} finally {
  if (!soak.interrupted) await soak.cleanup();
}
if (!soak.interrupted) process.exit(code);
