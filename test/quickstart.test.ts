// The quickstart needs nothing installed but Redis: with DATABASE_URL unset,
// `npm start` (apps/main.ts) runs on an embedded Postgres (PGlite) on disk.
// A job runs end to end through the HTTP API and is still there after a restart;
// a model registers through presigned uploads, and issue 12's hostile one is
// refused while /healthz keeps answering.
// The rest of the suite uses the machine's Postgres; only these processes run on PGlite
// (and embedded-pg-turns.test.ts's server).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigWith } from '../apps/shared/config.ts';
import { obliterateQueue } from '../apps/shared/queue/contract.ts';
import { tinyMlp } from './helpers/api.ts';
import { DANGLING_INPUT_MODEL_JSON } from './helpers/hostile-models.ts';
import { tf } from '../apps/shared/ml/tf.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** `npm start` as a newcomer runs it, but with DATABASE_URL unset on purpose and everything else private to this test. */
function startService(env: Record<string, string>) {
  const inherited = { ...process.env };
  for (const k of ['DATABASE_URL', 'S3_ENDPOINT', 'EMBEDDED_PG_PORT', 'EMBEDDED_PG_DIR', 'EMBEDDED_S3_DIR', 'EMBEDDED_S3_PORT', 'QUICKSTART_KEY_FILE']) delete inherited[k];
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/main.ts'], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, log: () => output };
}

describe('quickstart: npm start on an embedded Postgres', () => {
  let dir: string;
  let env: Record<string, string>;
  let api: string;
  const queueName = `test-quickstart-${randomUUID().slice(0, 8)}`;
  let service: ReturnType<typeof startService> | undefined;

  async function up(): Promise<ReturnType<typeof startService>> {
    const s = startService(env);
    service = s;
    let exitedEarly: number | string | null | undefined;
    void s.exited.then((code) => (exitedEarly = code));
    for (let i = 0; i < 600; i++) {
      if (exitedEarly !== undefined) throw new Error(`npm start exited (${exitedEarly}):\n${s.log()}`);
      const ok = await fetch(`${api}/healthz`).then((r) => r.ok, () => false);
      if (ok) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`npm start never answered /healthz:\n${s.log()}`);
  }

  async function down(): Promise<number | string | null> {
    const s = service!;
    s.child.kill('SIGTERM');
    // A process whose event loop is stuck never runs its SIGTERM handler.
    const stuck = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
    const code = await s.exited;
    clearTimeout(stuck);
    service = undefined;
    return code;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ftest-quickstart-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    env = {
      PORT: String(port),
      QUEUE_NAME: queueName,
      EMBEDDED_PG_DIR: path.join(dir, 'pg'),
      EMBEDDED_PG_PORT: '0',
      EMBEDDED_S3_DIR: path.join(dir, 's3'),
      EMBEDDED_S3_PORT: String(await freePort()),
      QUICKSTART_KEY_FILE: path.join(dir, 'api-key'),
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      TRAIN_THREADS: '1',
      SHUTDOWN_TIMEOUT_MS: '5000',
      RATE_LIMIT_PER_MINUTE: '100000',
    };
  });

  after(async () => {
    if (service) await down();
    await obliterateQueue(loadConfigWith({ QUEUE_NAME: queueName }));
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a job end to end, and keeps it on disk across a restart', async () => {
    const first = await up();
    assert.match(first.log(), /embedded Postgres \(PGlite\) started/);
    await access(path.join(dir, 'pg', 'PG_VERSION'));
    const key = (await readFile(env.QUICKSTART_KEY_FILE, 'utf8')).trim();
    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(api + url, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    // Issue 12's reproducer, as the report sent it: an unsigned PUT to the embedded S3, then one
    // registration, while /healthz is polled. It froze this whole process (API, worker and S3).
    const area = `${(await call('POST', '/v1/uploads', { name: 'hang/model.json' })).body.uri.replace(/^s3:\/\/finetune\//, '').replace(/model\.json$/, '')}`;
    const s3 = `http://127.0.0.1:${env.EMBEDDED_S3_PORT}/finetune/${area}`;
    assert.equal((await fetch(`${s3}model.json`, { method: 'PUT', body: JSON.stringify(DANGLING_INPUT_MODEL_JSON) })).status, 200);
    assert.equal((await fetch(`${s3}weights.bin`, { method: 'PUT', body: new Uint8Array(40) })).status, 200);
    let polling = true;
    const latencies: number[] = [];
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        const res = await fetch(`${api}/healthz`, { signal: AbortSignal.timeout(3_000) });
        assert.equal(res.status, 200);
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const hostile = await fetch(`${api}/v1/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'h', uri: `s3://finetune/${area}model.json` }),
      signal: AbortSignal.timeout(30_000),
    });
    polling = false;
    await poller;
    assert.equal(hostile.status, 422);
    assert.deepEqual(((await hostile.json()) as any).error.details, { layer: 'd', fault: 'unknown_layer', input: 'nope' });
    assert.ok(latencies.length > 0 && Math.max(...latencies) < 1_000, `/healthz latencies: ${latencies.map(Math.round)}`);
    assert.deepEqual((await call('GET', '/v1/models')).body.data, [], 'no model row');
    const listing = await (await fetch(`http://127.0.0.1:${env.EMBEDDED_S3_PORT}/finetune?list-type=2&prefix=models/`)).text();
    assert.doesNotMatch(listing, /<Key>/, 'no object under models/');

    // An honest model, put through presigned URLs, registers (the inspector's child starts from npm start).
    const tiny = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', name: 'out' })] });
    let modelUri = '';
    await tiny.save(tf.io.withSaveHandler(async (a) => {
      const files: Array<[string, Uint8Array | string]> = [
        ['tiny/weights.bin', new Uint8Array(a.weightData as ArrayBuffer)],
        ['tiny/model.json', JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] })],
      ];
      for (const [name, body] of files) {
        const upload = (await call('POST', '/v1/uploads', { name })).body;
        assert.equal((await fetch(upload.url, { method: 'PUT', body })).status, 200);
        modelUri = upload.uri;
      }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const registered = await call('POST', '/v1/models', { name: 'tiny', uri: modelUri });
    assert.equal(registered.status, 201, `${JSON.stringify(registered.body)}\n${first.log()}`);
    assert.equal(registered.body.totalParams, 15);

    const ds = await call('POST', '/v1/datasets', { name: 'digits', source: { type: 'mnist', classes: [0, 1], count: 40 } });
    assert.equal(ds.status, 201, JSON.stringify(ds.body));
    const sub = await call('POST', '/v1/jobs', { type: 'pretrain', architecture: tinyMlp(2), hyperparameters: { epochs: 2 }, trainDatasetId: ds.body.id });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    let job: any;
    for (;;) {
      const res = await call('GET', `/v1/jobs/${sub.body.id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      job = res.body;
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(job.status, 'succeeded', `${JSON.stringify(job)}\n${first.log()}`);
    const metrics = await call('GET', `/v1/jobs/${job.id}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.body.data.length, 2, 'one row per epoch, written by the sandboxed training process');

    assert.equal(await down(), 0, first.log());
    await assert.rejects(access(`${env.EMBEDDED_PG_DIR}.lock`), 'a clean stop releases the data directory');

    const second = await up();
    assert.equal((await readFile(env.QUICKSTART_KEY_FILE, 'utf8')).trim(), key, 'the key is still valid: its row was kept');
    const again = await call('GET', `/v1/jobs/${job.id}`);
    assert.equal(again.status, 200, `${JSON.stringify(again.body)}\n${second.log()}`);
    assert.equal(again.body.status, 'succeeded');
    assert.equal(again.body.outputModelId, job.outputModelId);
    assert.match(second.log(), /"applied":\[\],"msg":"database ready"/, 'no migration ran twice');
    assert.equal(await down(), 0, second.log());
  });
});
