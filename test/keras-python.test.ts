// The exported `.keras` opens in Keras 3 itself: keras.models.load_model on
// each exported fixture, and its predictions match the reference outputs.
// Needs a Python with Keras 3 (the anchors venv, /tmp/anchors-venv, made by
// shared/anchors/setup.sh); without one the test is skipped, and says so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { importKerasModel } from '../apps/shared/ml/keras/import.ts';
import { exportKerasModel } from '../apps/shared/ml/keras/export.ts';

const VENV = process.env.KERAS_VENV ?? join(tmpdir(), 'anchors-venv');
const PYTHON = join(VENV, 'bin', 'python');
const DIR = fileURLToPath(new URL('./fixtures/keras/', import.meta.url));
const skip = existsSync(PYTHON) ? false : `no Keras venv at ${VENV} (bash shared/anchors/setup.sh ${VENV}, or set KERAS_VENV): the exported files were NOT loaded in Keras`;
if (skip) console.warn(`SKIPPED keras-python: ${skip}`);

const SCRIPT = `
import json, sys, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, keras
model = keras.models.load_model(sys.argv[1])
io = json.load(open(sys.argv[2]))
out = model.predict(np.array(io["inputs"], dtype="float32"), verbose=0)
print(json.dumps({"keras": keras.__version__, "diff": float(np.max(np.abs(out - np.array(io["outputs"])))), "layers": [l.name for l in model.layers]}))
`;

describe('Keras 3 loads the exported .keras', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'keras-export-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const name of ['mnist_convnet_0to4', 'mobilenet_block', 'mobilenetv2_035_96', 'normalization', 'keras_ops']) {
    it(`${name}: keras.models.load_model, predictions within 1e-4`, async () => {
      const m = await importKerasModel(new Uint8Array(readFileSync(join(DIR, `${name}.keras`))), { maxWeightBytes: 100 * 2 ** 20, maxLayers: 256 });
      const file = join(work, `${name}.keras`);
      writeFileSync(file, await exportKerasModel(m.modelJson, m.weights));
      const out = execFileSync(PYTHON, ['-c', SCRIPT, file, join(DIR, `${name}.io.json`)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const result = JSON.parse(out.trim().split('\n').pop()!);
      assert.match(result.keras, /^3\./);
      assert.ok(result.diff <= 1e-4, `max abs diff ${result.diff}`);
      const topo = m.modelJson.modelTopology as { config: { layers: Array<{ config: { name: string } }> } };
      for (const l of topo.config.layers) assert.ok(result.layers.includes(l.config.name), `Keras has layer ${l.config.name}`);
    });
  }
});
