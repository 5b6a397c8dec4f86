// docs/datasets.md's end-to-end image example, run as written: Fashion-MNIST
// items saved as RGB JPEG and PNG files in a folder per class are put in the
// test's S3 server, registered (202, then ready), a base is fine-tuned on them
// by a real worker, and the documented classify.mjs (the code block itself,
// read from the doc) loads the result with tf.loadLayersModel and classifies
// image files in a Node process of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tf } from '../apps/shared/ml/tf.ts';
import { s3IOHandler } from '../apps/shared/ml/s3-io-handler.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { api, finished, http, submitJob, waitForJob } from './helpers/api.ts';
import { FASHION_LABELS, fashionItems, rgbFile } from './helpers/images.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** The ```js block of docs/datasets.md that starts with `// classify.mjs`. */
async function classifySnippet(): Promise<string> {
  const doc = await readFile(path.join(ROOT, 'docs/datasets.md'), 'utf8');
  const block = /```js\n(\/\/ classify\.mjs[\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/datasets.md has the classify.mjs block');
  return block[1];
}

describe('the image walkthrough of docs/datasets.md', () => {
  let h: Harness;
  let baseUrl: string;
  const work = path.join(ROOT, '.data', `walkthrough-${process.pid}`);
  before(async () => {
    h = await createHarness({ worker: true });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    // Inside the repository, so that the snippet's imports resolve from its node_modules.
    await mkdir(work, { recursive: true });
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
    await h?.close();
  });

  it('upload a folder per class, register, fine-tune, then loadLayersModel and classify image files in Node', async () => {
    // T-shirts and trousers: 24 of each to train on, 2 of each (never trained on) to classify.
    const classes = [0, 1];
    const train = await fashionItems(classes, 24);
    const held = await fashionItems(classes, 2, 100);
    await Promise.all(train.map(async (d, i) => {
      const format = i % 2 ? 'png' : 'jpeg';
      await h.storage.put(`${h.uploads}clothes/${FASHION_LABELS[d.label]}/${i}.${format === 'png' ? 'png' : 'jpg'}`, await rgbFile(d, 32, format));
    }));
    const created = (await http(h.app).post('/v1/datasets').send({
      name: 'clothes',
      source: { type: 'images', layout: 'folders', uri: `s3://${h.storage.bucket}/${h.uploads}clothes/`, preprocess: { size: [16, 16], scaling: 'symmetric' } },
    })).body;
    assert.equal(created.status, 'validating');
    const ds = await api(h.app).datasets.wait(created.id);
    assert.deepEqual(ds.labels, ['trouser', 'tshirt']);
    assert.deepEqual(ds.featureShape, [16, 16, 3]);

    // A base whose input is the prepared shape, registered like any model.
    const base = tf.sequential({ layers: [
      tf.layers.flatten({ inputShape: [16, 16, 3] }),
      tf.layers.dense({ units: 24, activation: 'relu', name: 'features' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }),
    ] });
    await base.save(s3IOHandler(h.storage, `${h.uploads}base/`));
    base.dispose();
    const model = await http(h.app).post('/v1/models').send({ name: 'base', uri: `s3://${h.storage.bucket}/${h.uploads}base/model.json` });
    assert.equal(model.status, 201, JSON.stringify(model.body));
    const job = await submitJob(h.app, {
      baseModelId: model.body.id,
      trainDatasetId: ds.id,
      freeze: 'none',
      head: [{ type: 'dense', units: 2, activation: 'softmax' }],
      hyperparameters: { epochs: 8, batchSize: 8, learningRate: 0.01 },
    });
    const done = await waitForJob(h.app, job.id, finished, 300_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));

    // The documented script, as a user runs it.
    await writeFile(path.join(work, 'classify.mjs'), await classifySnippet());
    let right = 0;
    for (const [i, d] of held.entries()) {
      const file = path.join(work, `item-${i}.png`);
      await writeFile(file, await rgbFile(d, 40, 'png'));
      const { stdout } = await run(process.execPath, [path.join(work, 'classify.mjs'), done.outputModelId, file], {
        cwd: work,
        env: { ...process.env, API: baseUrl, KEY: h.tenant.apiKey },
      });
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { label: string; probability: number };
      assert.ok(ds.labels.includes(out.label), stdout);
      assert.ok(out.probability >= 0.5 && out.probability <= 1, stdout);
      if (out.label === FASHION_LABELS[d.label]) right++;
    }
    // T-shirts and trousers are far apart; a model that learnt anything tells 3 of 4 apart.
    assert.ok(right >= 3, `${right} of 4 held-out items classified right`);
  });
});
