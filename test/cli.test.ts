// The typed client and the `finetune` CLI against a real service on a port,
// with a worker: the CLI runs as a child process, as a person or script runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiError, FinetuneClient, parseSse, type Job } from '../apps/client/index.ts';
import { cliConfig } from '../apps/cli/config.ts';
import { EXIT } from '../apps/cli/exit-codes.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { tinyMlp } from './helpers/api.ts';
import { irisLikeCsv } from './helpers/fixtures.ts';
import { solid } from './helpers/images.ts';
import { tf } from '../apps/shared/ml/tf.ts';

const BIN = fileURLToPath(new URL('../bin/finetune.mjs', import.meta.url));
const MISSING = '00000000-0000-4000-8000-0000000000ff';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('SSE parsing and CLI config (no services)', () => {
  it('parses events split anywhere across chunks, CRLF included, and skips comments', async () => {
    const text = 'retry: 500\r\n\r\n: keep-alive\r\n\r\nid: 7\r\nevent: epoch\r\ndata: {"a":1}\r\n\r\nevent: end\ndata: line1\ndata: line2\n\n';
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.subarray(i, i + size));
          c.close();
        },
      });
      const got = [];
      for await (const m of parseSse(body)) got.push(m);
      assert.deepEqual(got, [
        { event: 'message', data: '', retry: 500 },
        { event: 'epoch', data: '{"a":1}', id: '7' },
        { event: 'end', data: 'line1\nline2', id: '7' },
      ], `chunks of ${size}`);
    }
  });

  it('takes the key from the flag, then FINETUNE_API_KEY, then the quickstart key file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ft-cli-'));
    try {
      assert.equal(cliConfig({}, {}, dir).apiKey, undefined);
      await mkdir(path.join(dir, '.data'));
      await writeFile(path.join(dir, '.data/api-key'), 'ft_from_file\n');
      assert.deepEqual(cliConfig({}, {}, dir), { baseUrl: 'http://127.0.0.1:3000', apiKey: 'ft_from_file', keySource: path.join(dir, '.data/api-key') });
      const env = { FINETUNE_API_KEY: 'ft_from_env', FINETUNE_API_URL: 'http://api:1' };
      assert.equal(cliConfig({}, env, dir).apiKey, 'ft_from_env');
      assert.equal(cliConfig({}, env, dir).baseUrl, 'http://api:1');
      assert.equal(cliConfig({ 'api-key': 'ft_flag', 'api-url': 'http://x:2' }, env, dir).apiKey, 'ft_flag');
      assert.equal(cliConfig({ 'api-key': 'ft_flag', 'api-url': 'http://x:2' }, env, dir).baseUrl, 'http://x:2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('typed client and CLI', () => {
  let h: Harness;
  let baseUrl: string;
  let client: FinetuneClient;
  let work: string;
  let trainId: string;
  let testId: string;

  /** Runs the CLI as a child process, in a directory with no .data/api-key, with the key and URL in its env. */
  const start = (args: string[], env: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      env: { ...process.env, FINETUNE_API_URL: baseUrl, FINETUNE_API_KEY: h.tenant.apiKey, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<Run>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    return { child, done, stderr: () => stderr };
  };
  const cli = (args: string[], env?: Record<string, string>) => start(args, env).done;
  const json = (r: Run) => {
    try {
      return JSON.parse(r.stdout);
    } catch {
      assert.fail(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
    }
  };
  const writeSpec = async (name: string, spec: unknown) => {
    const file = path.join(work, name);
    await writeFile(file, JSON.stringify(spec));
    return file;
  };

  before(async () => {
    h = await createHarness({ worker: true, env: { EVENTS_POLL_MS: '50' } });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    client = new FinetuneClient({ baseUrl, apiKey: h.tenant.apiKey });
    work = await mkdtemp(path.join(tmpdir(), 'ft-cli-'));
  });
  after(async () => {
    await h?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('raises ApiError with the service\'s status, code and details; an Idempotency-Key replays a POST', async () => {
    const missing = await client.jobs.get(MISSING).then(() => assert.fail('no error'), (e: unknown) => e);
    assert.ok(missing instanceof ApiError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'job_not_found');
    assert.deepEqual(missing.details, { id: MISSING });
    assert.ok(missing.requestId);

    await assert.rejects(
      client.jobs.create({ type: 'pretrain', architecture: tinyMlp(3) as never, trainDatasetId: MISSING }),
      (e: unknown) => e instanceof ApiError && e.status === 422 && e.code === 'dataset_not_found',
    );
    await assert.rejects(
      client.datasets.create({ name: 'x', source: { type: 'mnist', bogus: 1 } as never }),
      (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'validation_failed' && e.details !== undefined,
    );
    await assert.rejects(
      new FinetuneClient({ baseUrl, apiKey: 'ft_not_a_key' }).jobs.list(),
      (e: unknown) => e instanceof ApiError && e.status === 401 && e.code === 'invalid_api_key',
    );
    await assert.rejects(
      new FinetuneClient({ baseUrl: 'http://127.0.0.1:1', maxRetries: 0 }).jobs.list(),
      (e: unknown) => e instanceof ApiError && e.status === 0 && e.code === 'connection_failed',
    );

    const body = { name: 'digits 0-2', source: { type: 'mnist' as const, classes: [0, 1, 2], count: 300 } };
    const first = await client.datasets.create(body, { idempotencyKey: 'cli-test-train' });
    const again = await client.datasets.create(body, { idempotencyKey: 'cli-test-train' });
    assert.equal(again.id, first.id);
    assert.deepEqual(first.labels, ['0', '1', '2']);
    trainId = first.id;
  });

  let succeeded: Job;

  it('datasets add, then jobs submit --follow --json exits 0 with the evaluation; progress goes to stderr', async () => {
    const added = await cli(['datasets', 'add', '--name', 'digits 0-2 test', '--mnist', '--split', 'test', '--classes', '0,1,2', '--count', '60', '--json']);
    assert.equal(added.code, EXIT.ok, added.stderr);
    const test = json(added);
    assert.equal(test.numExamples, 60);
    assert.deepEqual(test.source.classes, [0, 1, 2]);
    testId = test.id;
    const listed = await cli(['datasets', 'list', '--json']);
    assert.equal(listed.code, EXIT.ok);
    assert.deepEqual(json(listed).map((d: { id: string }) => d.id).sort(), [trainId, testId].sort());

    const spec = await writeSpec('pretrain.json', {
      type: 'pretrain', name: 'cli pretrain', architecture: tinyMlp(3), hyperparameters: { epochs: 2, batchSize: 32 }, trainDatasetId: trainId, testDatasetId: testId,
    });
    const run = await cli(['jobs', 'submit', spec, '--follow', '--json']);
    assert.equal(run.code, EXIT.ok, run.stderr);
    const job = json(run) as Job;
    assert.equal(job.status, 'succeeded');
    assert.equal(job.name, 'cli pretrain');
    assert.ok(job.evaluation);
    assert.equal(job.evaluation.split, 'test');
    assert.equal(job.evaluation.numExamples, 60);
    assert.deepEqual(job.evaluation.perClass.map((c) => c.label), ['0', '1', '2']);
    // Not a terminal here: one plain line per epoch and per change, no cursor movement.
    assert.match(run.stderr, /epoch 1\/2 {2}loss \d/);
    assert.match(run.stderr, /\[#{20}\] +100% {2}epoch 2\/2/);
    assert.match(run.stderr, /status succeeded/);
    assert.doesNotMatch(run.stderr, /\x1b\[/);
    succeeded = job;

    // The same job for people: the evaluation as tables.
    const shown = await cli(['jobs', 'show', job.id]);
    assert.equal(shown.code, EXIT.ok);
    assert.match(shown.stdout, /Evaluation on the test set \(60 examples\)/);
    assert.match(shown.stdout, /label +precision +recall +f1 +support/);
    assert.match(shown.stdout, /Confusion matrix/);
    const listedJobs = json(await cli(['jobs', 'list', '--status', 'succeeded', '--all', '--json']));
    assert.deepEqual(listedJobs.map((j: Job) => j.id), [job.id]);
  });

  it('streams the event log through the client, models download writes a loadable model', async () => {
    const events = [];
    for await (const e of client.jobs.stream(succeeded.id)) events.push(e);
    assert.deepEqual(events.filter((e) => e.type === 'epoch').map((e) => e.data.epoch), [1, 2]);
    assert.deepEqual(events.filter((e) => e.type === 'status').map((e) => e.data.status), ['queued', 'running', 'succeeded']);
    const later = [];
    for await (const e of client.jobs.stream(succeeded.id, { after: events[2].id })) later.push(e.id);
    assert.deepEqual(later, events.slice(3).map((e) => e.id));
    assert.equal((await client.jobs.metrics(succeeded.id)).data.length, 2);
    assert.equal((await client.jobs.checkpoints(succeeded.id)).data.length, 2);
    assert.equal((await client.jobs.evaluation(succeeded.id))?.numExamples, 60);

    const modelId = succeeded.outputModelId!;
    const models = json(await cli(['models', 'list', '--json']));
    assert.equal(models[0].id, modelId);
    assert.equal(models[0].lineage.jobId, succeeded.id);
    const dir = path.join(work, 'model');
    const dl = await cli(['models', 'download', modelId, '-o', dir]);
    assert.equal(dl.code, EXIT.ok, dl.stderr);
    const modelJson = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    assert.ok(modelJson.modelTopology);
    const weightBytes = modelJson.weightsManifest[0].weights.reduce((n: number, w: { shape: number[] }) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal((await stat(path.join(dir, 'weights.bin'))).size, weightBytes);
    const signed = await client.models.downloadUrl(modelId);
    const res = await fetch(signed.href);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), modelJson);
  });

  it('sweeps create --follow exits 0 with the leaderboard; show prints it as a table; cancel of a finished sweep exits 3', async () => {
    const spec = await writeSpec('sweep.json', {
      name: 'cli sweep', job: { baseModelId: succeeded.outputModelId, trainDatasetId: trainId, hyperparameters: { epochs: 2, validationSplit: 0.2 } }, space: { learningRate: [0.05, 0.01] },
    });
    const run = await cli(['sweeps', 'create', spec, '--follow', '--json']);
    assert.equal(run.code, EXIT.ok, run.stderr);
    const sweep = json(run);
    assert.equal(sweep.status, 'succeeded');
    assert.equal(sweep.leaderboard.length, 2);
    assert.match(run.stderr, /sweep [0-9a-f-]+: succeeded; trials 2 succeeded/);
    const shown = await cli(['sweeps', 'show', sweep.id]);
    assert.equal(shown.code, EXIT.ok);
    assert.match(shown.stdout, /trial +status +valAccuracy +epochs +compute +features +params +job/);
    assert.match(shown.stdout, new RegExp(`output model: ${sweep.outputModelId}`));
    assert.match(shown.stdout, /learningRate=0\.05/);
    const cancel = await cli(['sweeps', 'cancel', sweep.id]);
    assert.equal(cancel.code, EXIT.api);
    assert.match(cancel.stderr, /sweep_not_cancellable/);
  });

  it('datasets add --images --wait: a progress bar on stderr, then the ready dataset; a bad image exits 3 naming it', async () => {
    const png = await solid(12, 12, [200, 10, 10]).png().toBuffer();
    for (const key of ['a/1.png', 'a/2.png', 'b/1.png', 'b/2.png']) await h.storage.put(`${h.uploads}cli-imgs/${key}`, png);
    const prefix = `s3://${h.storage.bucket}/${h.uploads}cli-imgs/`;
    const ok = await cli(['datasets', 'add', '--name', 'imgs', '--images', prefix, '--size', '8x8', '--channels', 'grayscale', '--wait', '--json']);
    assert.equal(ok.code, EXIT.ok, ok.stdout + ok.stderr);
    assert.equal(json(ok).status, 'ready');
    assert.deepEqual(json(ok).featureShape, [8, 8, 1]);
    assert.match(ok.stderr, /\] +100% +4\/4 images/);
    await h.storage.put(`${h.uploads}cli-imgs/b/zero.png`, new Uint8Array(0));
    const bad = await cli(['datasets', 'add', '--name', 'imgs', '--images', prefix, '--size', '8x8', '--wait']);
    assert.equal(bad.code, EXIT.api, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /image_invalid/);
    assert.ok(bad.stderr.includes(`${prefix}b/zero.png`), bad.stderr);
    assert.equal((await cli(['datasets', 'add', '--name', 'x', '--images', prefix, '--size', '8'])).code, EXIT.usage);
  });

  it('uploads put, models add and datasets add --s3; a job that fails exits with the failure code and says why', async () => {
    // A base whose weights are all NaN, and a linear layer to cut at: the head's loss is NaN at its first batch.
    const base = tf.sequential({ layers: [
      tf.layers.dense({ inputShape: [4], units: 8, activation: 'linear', name: 'hidden' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ] });
    base.setWeights(base.getWeights().map((w) => tf.fill(w.shape, NaN)));
    // Saved to local files, as a user has them, then put in the upload area by the CLI.
    const local = path.join(work, 'nan-base');
    await mkdir(local, { recursive: true });
    await base.save(tf.io.withSaveHandler(async (a) => {
      await writeFile(path.join(local, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      await writeFile(path.join(local, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    base.dispose();
    const put = await cli(['uploads', 'put', path.join(local, 'model.json'), path.join(local, 'weights.bin'), '--prefix', 'nan/', '--json']);
    assert.equal(put.code, EXIT.ok, put.stdout + put.stderr);
    const uris = (json(put) as Array<{ uri: string }>).map((u) => u.uri);
    assert.deepEqual(uris, [`s3://${h.storage.bucket}/${h.uploads}nan/model.json`, `s3://${h.storage.bucket}/${h.uploads}nan/weights.bin`]);
    const human = await cli(['uploads', 'put', path.join(local, 'model.json'), '--prefix', 'again/']);
    assert.match(human.stdout, new RegExp(`model\\.json +s3://${h.storage.bucket}/${h.uploads}again/model\\.json`));
    assert.equal((await cli(['uploads', 'put', path.join(local, 'model.json'), '--prefix', 'no-slash'])).code, EXIT.usage);
    const added = await cli(['models', 'add', '--name', 'nan base', '--uri', uris[0], '--json']);
    assert.equal(added.code, EXIT.ok, added.stdout + added.stderr);
    const model = json(added);
    assert.equal(model.kind, 'base');
    assert.equal(model.totalParams, 4 * 8 + 8 + 8 * 3 + 3);
    await writeFile(path.join(work, 'iris.csv'), irisLikeCsv(30));
    const csvUri = (json(await cli(['uploads', 'put', path.join(work, 'iris.csv'), '--json'])) as Array<{ uri: string }>)[0].uri;
    const ds = await cli(['datasets', 'add', '--name', 'iris', '--s3', csvUri, '--label-column', 'species', '--json']);
    assert.equal(ds.code, EXIT.ok, ds.stdout + ds.stderr);
    assert.deepEqual(json(ds).featureShape, [4]);
    const spec = await writeSpec('diverge.json', { baseModelId: model.id, cutLayer: 'hidden', hyperparameters: { epochs: 2, batchSize: 8 }, trainDatasetId: json(ds).id });
    const run = await cli(['jobs', 'submit', spec, '--follow', '--json']);
    assert.equal(run.code, EXIT.jobFailed, run.stdout + run.stderr);
    const job = json(run) as Job;
    assert.equal(job.status, 'failed');
    assert.equal(job.error?.code, 'training_diverged');

    const followed = await cli(['jobs', 'follow', job.id, '--quiet']);
    assert.equal(followed.code, EXIT.jobFailed);
    assert.match(followed.stdout, /failed: training_diverged/);
    assert.equal(followed.stderr, '');
  });

  it('jobs cancel stops a job; its follower exits with the cancelled code', async () => {
    const job = await client.jobs.create({
      type: 'pretrain', architecture: tinyMlp(3) as never, hyperparameters: { epochs: 500, batchSize: 8 }, trainDatasetId: trainId,
    }, { idempotencyKey: 'cli-test-long' });
    const follower = start(['jobs', 'follow', job.id, '--json']);
    // Cancel once it runs, so the running path (stop at the next batch) is the one tested.
    for (let j = job; j.status !== 'running'; j = await client.jobs.get(job.id)) {
      assert.ok(j.status === 'queued', `unexpected status ${j.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Ctrl-C stops a follower, not the job.
    const detached = start(['jobs', 'follow', job.id]);
    while (!detached.stderr().includes(`job ${job.id}`)) await new Promise((r) => setTimeout(r, 50));
    detached.child.kill('SIGINT');
    const stopped = await detached.done;
    assert.equal(stopped.code, EXIT.detached, stopped.stderr);
    assert.match(stopped.stderr, /Stopped following; the job goes on/);
    assert.equal((await client.jobs.get(job.id)).cancelRequestedAt, null);

    const cancelled = await cli(['jobs', 'cancel', job.id, '--json']);
    assert.equal(cancelled.code, EXIT.ok, cancelled.stdout + cancelled.stderr);
    const answer = json(cancelled) as Job;
    assert.equal(answer.id, job.id);
    assert.ok(answer.cancelRequestedAt || answer.status === 'cancelled');

    const followed = await follower.done;
    assert.equal(followed.code, EXIT.jobCancelled, followed.stdout + followed.stderr);
    assert.equal((json(followed) as Job).status, 'cancelled');
    assert.match(followed.stderr, /cancel requested/);

    // Cancelling again changes nothing; cancelling a job that succeeded is the service's 409, an API error here.
    const again = await cli(['jobs', 'cancel', job.id, '--json']);
    assert.equal(again.code, EXIT.ok);
    assert.equal(json(again).status, 'cancelled');
    const late = await cli(['jobs', 'cancel', succeeded.id, '--json']);
    assert.equal(late.code, EXIT.api);
    assert.equal(json(late).error.code, 'job_not_cancellable');
    assert.equal(json(late).error.status, 409);
  });

  it('usage errors and API errors have their own exit codes; --json reports them on stdout', async () => {
    for (const args of [['jobs', 'submit'], ['jobs', 'submit', path.join(work, 'nope.json')], ['nope'], ['jobs', 'list', '--bogus'], ['datasets', 'add', '--name', 'x'], ['jobs', 'list', '--limit', 'many'], ['jobs', 'constructor'], ['toString']]) {
      const r = await cli([...args, '--json']);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(json(r).error.code, 'usage');
    }
    const missing = await cli(['jobs', 'show', MISSING, '--json']);
    assert.equal(missing.code, EXIT.api);
    assert.deepEqual(json(missing).error, { status: 404, code: 'job_not_found', message: `job ${MISSING} does not exist`, details: { id: MISSING }, requestId: json(missing).error.requestId });
    const text = await cli(['jobs', 'show', MISSING]);
    assert.equal(text.code, EXIT.api);
    assert.match(text.stderr, /^error: job_not_found: /);
    const invalid = await cli(['jobs', 'submit', await writeSpec('invalid.json', { trainDatasetId: trainId, bogus: true })]);
    assert.equal(invalid.code, EXIT.api);
    assert.match(invalid.stderr, /validation_failed/);
    // --auto asks for strategy auto: the API refuses it on a pretrain job, naming the field.
    const pretrain = await writeSpec('auto-pretrain.json', { type: 'pretrain', architecture: tinyMlp(3), trainDatasetId: trainId });
    const auto = await cli(['jobs', 'submit', pretrain, '--auto', '--json']);
    assert.equal(auto.code, EXIT.api);
    assert.equal(json(auto).error.code, 'strategy_conflict');
    assert.deepEqual(json(auto).error.details.fields, ['type']);
    const badKey = await cli(['jobs', 'list'], { FINETUNE_API_KEY: 'ft_not_a_key' });
    assert.equal(badKey.code, EXIT.api);
    assert.match(badKey.stderr, /invalid_api_key/);
    const help = await cli(['--help']);
    assert.equal(help.code, EXIT.ok);
    assert.match(help.stdout, /finetune jobs submit <spec\.json/);
  });
});
