// The API never runs TensorFlow.js (issue 15): a process that builds the app
// and registers a model has loaded none of @tensorflow/*. Registration reads
// model.json and the manifest as data and builds the model in the inspector's
// child process; the workers report their backends through heartbeats.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { configToEnv } from '../apps/shared/config.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { uploadTinyModel } from './helpers/fixtures.ts';
import { readFileSync } from 'node:fs';
import { createDataset } from './helpers/api.ts';
import { encode, mnistDigits } from './helpers/images.ts';

const graphFile = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/graph/${name}`, import.meta.url)));

const CHILD = fileURLToPath(new URL('./helpers/api-only-child.ts', import.meta.url));

describe('API process without TensorFlow.js', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => h?.close());

  it('registers a model and a Graph model, and plans a job on the graph, without loading any @tensorflow module', async () => {
    const uri = await uploadTinyModel(h.storage, `${h.uploads}no-tf/`);
    await h.storage.put(`${h.uploads}no-tf-graph/model.json`, graphFile('model.json'));
    await h.storage.put(`${h.uploads}no-tf-graph/group1-shard1of1.bin`, graphFile('group1-shard1of1.bin'));
    const graphUri = `s3://${h.storage.bucket}/${h.uploads}no-tf-graph/model.json`;
    const digits = await mnistDigits([0, 1], 4);
    await Promise.all(digits.map(async (d, i) => h.storage.put(`${h.uploads}no-tf-digits/${d.label}/${i}.png`, await encode.png(d))));
    const dataset = await createDataset(h.app, 'digits 8x8', { type: 'images', layout: 'folders', uri: `s3://${h.storage.bucket}/${h.uploads}no-tf-digits/`, preprocess: { size: [8, 8], channels: 'grayscale', scaling: 'unit' } });
    const args = { apiKey: h.tenant.apiKey, uri, graphUri, datasetId: dataset.id };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      env: configToEnv(h.config),
      maxBuffer: 16 * 2 ** 20,
    });
    type Reply = { status: number; body: Record<string, any> };
    const report = JSON.parse(stdout) as Reply & { graph: Reply; job: Reply; readyz: number; tfModules: string[]; tfEngine: boolean };
    assert.equal(report.status, 201, JSON.stringify(report.body));
    // 4→8→3 dense: the summary is still complete.
    assert.equal(report.body.totalParams, 4 * 8 + 8 + 8 * 3 + 3);
    assert.equal(report.body.layers.length, 2);
    assert.equal(report.graph.status, 201, JSON.stringify(report.graph.body));
    assert.equal(report.graph.body.format, 'graph-model');
    assert.equal(report.job.status, 202, JSON.stringify(report.job.body));
    assert.equal(report.job.body.spec.cutLayer, 'features');
    assert.equal(report.readyz, 200);
    assert.deepEqual(report.tfModules, [], 'the API process loaded TensorFlow.js modules');
    assert.equal(report.tfEngine, false, 'the API process evaluated tfjs-core');
  });
});
