// Child of test/api-without-tensorflow.test.ts: the API process alone, built as
// server.ts builds it (config from its environment), registers one model and
// reports which TensorFlow.js code it loaded. Argument: {apiKey, uri} as JSON,
// with graphUri and datasetId: it registers that Graph model too and plans a job on it.
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { loadConfig } from '../../apps/shared/config.ts';
import { buildApp } from '../../apps/api/src/app.ts';

const { apiKey, uri, graphUri, datasetId } = JSON.parse(process.argv[2]) as { apiKey: string; uri: string; graphUri?: string; datasetId?: string };
const app = await buildApp(loadConfig(), { logger: false });
await app.ready();
const res = await app.inject({ method: 'POST', url: '/v1/models', headers: { authorization: `Bearer ${apiKey}` }, payload: { name: 'no-tf', uri } });
const headers = { authorization: `Bearer ${apiKey}` };
const graph = graphUri ? await app.inject({ method: 'POST', url: '/v1/models', headers, payload: { name: 'no-tf-graph', uri: graphUri } }) : undefined;
const job = graph && datasetId
  ? await app.inject({ method: 'POST', url: '/v1/jobs', headers, payload: { baseModelId: graph.json().id, trainDatasetId: datasetId, cutLayer: 'features', hyperparameters: { epochs: 1 } } })
  : undefined;
const readyz = await app.inject({ method: 'GET', url: '/readyz' });
// tfjs is CommonJS (its package has no ESM exports), so whatever loaded it is in require's cache;
// tfjs-core also leaves its engine on the global object when it is evaluated.
const tfModules = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes(`${sep}@tensorflow${sep}`));
const report = {
  status: res.statusCode,
  body: res.json(),
  graph: graph && { status: graph.statusCode, body: graph.json() },
  job: job && { status: job.statusCode, body: job.json() },
  readyz: readyz.statusCode,
  tfModules,
  tfEngine: '_tfengine' in globalThis,
};
await app.close();
process.stdout.write(JSON.stringify(report));
