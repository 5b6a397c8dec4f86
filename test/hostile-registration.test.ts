// Issue 12's freeze: one model registration whose graph tfjs cannot build used
// to spin the whole process. Here the API, the embedded S3 server and a worker
// share one process, as in `npm start`: /healthz keeps answering quickly while
// hostile registrations are in flight, they end in 422 with nothing stored,
// and a worker's load stage never hangs on such files either.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { createDataset, finished, http, submitJob, waitForJob } from './helpers/api.ts';
import { irisLikeCsv, uploadTinyModel } from './helpers/fixtures.ts';
import { DANGLING_INPUT_MODEL_JSON } from './helpers/hostile-models.ts';

/** Sequential Dense(4 → units) → Dense(units → 3) with zero weights: honest files, as big as asked. */
function wideModel(units: number) {
  const layers = [
    { class_name: 'Dense', config: { name: 'wide', units, batch_input_shape: [null, 4] } },
    { class_name: 'Dense', config: { name: 'out', units: 3, activation: 'softmax' } },
  ];
  const weights = [
    { name: 'wide/kernel', shape: [4, units], dtype: 'float32' },
    { name: 'wide/bias', shape: [units], dtype: 'float32' },
    { name: 'out/kernel', shape: [units, 3], dtype: 'float32' },
    { name: 'out/bias', shape: [3], dtype: 'float32' },
  ];
  return {
    json: JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { name: 'wide', layers } }, weightsManifest: [{ paths: ['weights.bin'], weights }] }),
    weights: new Uint8Array((8 * units + 3) * 4),
  };
}

describe('hostile model registrations in one process with the API and S3', () => {
  let h: Harness;
  let area: string;
  before(async () => {
    // 256 MiB: room for node and tfjs (~200 MiB) and a small model, not for wideModel(2.4M) (19.2M parameters, under MAX_MODEL_PARAMS: 77 MB of weights held twice while it builds).
    h = await createHarness({ worker: true, env: { MODEL_INSPECT_MEMORY_MB: '256' } });
    area = `uploads/${h.tenant.tenantId}/`;
  });
  after(() => h?.close());

  /** Registers `key`'s model while polling /healthz over real HTTP every 25 ms; returns both outcomes. */
  async function registerWhilePolling(key: string) {
    const server = createServer(h.app.server.listeners('request')[0] as Parameters<typeof createServer>[1]);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const latencies: number[] = [];
    let done = false;
    const poller = (async () => {
      while (!done) {
        const t = performance.now();
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const reg = await fetch(`${base}/v1/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tenant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hostile', uri: `s3://${h.storage.bucket}/${key}model.json` }),
    });
    done = true;
    await poller;
    server.close();
    return { status: reg.status, body: (await reg.json()) as any, latencies };
  }

  async function assertNothingStored() {
    assert.equal(await h.db.model.count(), 0, 'no model row');
    assert.deepEqual(await h.storage.list('models/'), [], 'no object under models/');
  }

  it("the issue's reproducer: /healthz answers throughout, the registration is 422 model_invalid naming the layer, nothing is stored", async () => {
    await h.storage.put(`${area}hang/model.json`, JSON.stringify(DANGLING_INPUT_MODEL_JSON));
    await h.storage.put(`${area}hang/weights.bin`, new Uint8Array(40));
    const { status, body, latencies } = await registerWhilePolling(`${area}hang/`);
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.error.code, 'model_invalid');
    assert.equal(body.error.details.layer, 'd');
    assert.equal(body.error.details.fault, 'unknown_layer');
    assert.ok(latencies.length >= 1 && Math.max(...latencies) < 1_000, `/healthz latencies: ${latencies.map(Math.round)}`);
    await assertNothingStored();
  });

  it('a model tfjs can only build past the memory limit: killed in its child while /healthz answers throughout; 422, nothing stored', async () => {
    const wide = wideModel(2_400_000);
    await h.storage.put(`${area}wide/weights.bin`, wide.weights);
    await h.storage.put(`${area}wide/model.json`, wide.json);
    const { status, body, latencies } = await registerWhilePolling(`${area}wide/`);
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.error.code, 'model_invalid');
    assert.deepEqual(body.error.details, { fault: 'memory', setting: 'MODEL_INSPECT_MEMORY_MB', limit: 256 });
    assert.ok(latencies.length >= 10, `polled throughout the build (${latencies.length} answers)`);
    assert.ok(Math.max(...latencies) < 1_000, `/healthz latencies: ${latencies.map(Math.round)}`);
    await assertNothingStored();
  });

  it("a worker's load stage runs the same checks: a job on stored files tfjs cannot build fails with model_invalid instead of hanging", async () => {
    await h.storage.put(`${area}iris.csv`, irisLikeCsv(30));
    const data = await createDataset(h.app, 'iris', { type: 's3', uri: `s3://${h.storage.bucket}/${area}iris.csv`, format: 'csv', labelColumn: 'species' });
    const bases: Record<string, string> = {};
    for (const name of ['graph', 'memory']) {
      const res = await http(h.app).post('/v1/models').send({ name, uri: await uploadTinyModel(h.storage, `${area}${name}/`) });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      bases[name] = res.body.id;
    }
    // Files that got into the bucket before these checks existed (or were changed there since).
    await h.storage.put(`models/${bases.graph}/model.json`, JSON.stringify(DANGLING_INPUT_MODEL_JSON));
    const wide = wideModel(2_400_000);
    await h.storage.put(`models/${bases.memory}/weights.bin`, wide.weights);
    await h.storage.put(`models/${bases.memory}/model.json`, wide.json);

    for (const [name, expected] of [['graph', /Layer "d": .*nope/], ['memory', /more than 256 MiB/]] as const) {
      const job = await submitJob(h.app, { baseModelId: bases[name], trainDatasetId: data.id, hyperparameters: { epochs: 1 } });
      const done = await waitForJob(h.app, job.id, finished, 90_000);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.equal(done.stage, 'load');
      assert.equal(done.error.code, 'model_invalid');
      assert.match(done.error.message, expected);
      assert.equal(done.attempts, 1, 'bad input is not retried');
    }
  });
});
