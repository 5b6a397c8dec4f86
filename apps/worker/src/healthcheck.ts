// The GPU image's HEALTHCHECK for a worker container: healthy while a worker on
// this host keeps its Redis heartbeat fresh (it lapses in 15 s when the worker's
// event loop or its Redis connection dies). Exit 0 healthy, 1 not.
import { hostname } from 'node:os';
import { loadConfig } from '../../shared/config.ts';
import { createRedis } from '../../shared/queue/contract.ts';
import { listWorkers } from '../../shared/queue/workers.ts';

const config = loadConfig();
const redis = createRedis(config);
redis.on('error', () => undefined);
let healthy = false;
try {
  await new Promise((resolve, reject) => redis.once('ready', resolve).once('error', reject));
  const workers = await listWorkers(redis, config.queueName);
  healthy = workers.some((w) => w.host === hostname());
  if (!healthy) console.error(`no worker heartbeat from ${hostname()} in Redis`);
} catch (err) {
  console.error(`Redis: ${(err as Error).message}`);
} finally {
  redis.disconnect();
}
process.exit(healthy ? 0 : 1);
