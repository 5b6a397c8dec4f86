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

const CHILD = fileURLToPath(new URL('./helpers/api-only-child.ts', import.meta.url));

describe('API process without TensorFlow.js', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => h?.close());

  it('registers a model without loading any @tensorflow module', async () => {
    const uri = await uploadTinyModel(h.storage, `${h.uploads}no-tf/`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ apiKey: h.tenant.apiKey, uri })], {
      env: configToEnv(h.config),
      maxBuffer: 16 * 2 ** 20,
    });
    const report = JSON.parse(stdout) as { status: number; body: { totalParams: number; layers: unknown[] }; readyz: number; tfModules: string[]; tfEngine: boolean };
    assert.equal(report.status, 201, JSON.stringify(report.body));
    // 4→8→3 dense: the summary is still complete.
    assert.equal(report.body.totalParams, 4 * 8 + 8 + 8 * 3 + 3);
    assert.equal(report.body.layers.length, 2);
    assert.equal(report.readyz, 200);
    assert.deepEqual(report.tfModules, [], 'the API process loaded TensorFlow.js modules');
    assert.equal(report.tfEngine, false, 'the API process evaluated tfjs-core');
  });
});
