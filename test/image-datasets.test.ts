// Image datasets registered through POST /v1/datasets from the test's own S3
// server: a folder-per-class prefix and CSV/JSONL manifests, made from MNIST
// digits with sharp. Hostile collections end in one 4xx naming the object and
// leave no row and no object behind; the prepared pixels read back are the
// digits themselves; the planner checks the shape against a base model.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness } from './helpers/harness.ts';
import { http, registerSettled } from './helpers/api.ts';
import { uploadTinyModel } from './helpers/fixtures.ts';
import { bombPng, encode, mnistDigits, type Digit } from './helpers/images.ts';
import { loadLabeledExamples, type StoredSource } from '../apps/shared/data/dataset-source.ts';

const FORMATS = ['png', 'grayPng', 'png16', 'palette', 'alpha', 'webp', 'gif', 'jpeg', 'progressive'] as const;
const gray = { size: [28, 28], channels: 'grayscale', scaling: 'raw' };

describe('image datasets from S3', () => {
  let h: Harness;
  let digits: Digit[];
  before(async () => {
    h = await createHarness({ env: { MAX_IMAGE_PIXELS: '1000000' } });
    digits = await mnistDigits([0, 1, 7], 8);
  });
  after(() => h?.close());

  const uri = (key: string) => `s3://${h.storage.bucket}/${h.uploads}${key}`;
  /** 202 and the background validation, answered as its end: 201 and the dataset, or the error's 4xx. */
  const register = (source: Record<string, unknown>) => registerSettled(h.app, { name: 'imgs', source });

  /** Uploads the digits as <dir>/<label>/<n>.<fmt>, cycling through the formats. */
  async function uploadFolders(dir: string, ds: Digit[], formats: readonly (keyof typeof encode)[] = FORMATS) {
    await Promise.all(ds.map(async (d, i) => h.storage.put(`${h.uploads}${dir}/${d.label}/${String(i).padStart(3, '0')}.${formats[i % formats.length]}`, await encode[formats[i % formats.length]](d))));
  }

  async function assertNothingStored() {
    assert.equal(await h.db.dataset.count({ where: { status: { in: ['ready', 'validating'] } } }), 0, 'no usable dataset row');
    assert.deepEqual(await h.storage.list('datasets/'), [], 'no object under datasets/');
  }

  it('registers a folder-per-class prefix in every format: counts, histogram, thumbnails, and the digits read back', async () => {
    await uploadFolders('digits', digits);
    const res = await register({ type: 'images', layout: 'folders', uri: uri('digits/'), preprocess: gray });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.featureShape, [28, 28, 1]);
    assert.deepEqual(res.body.labels, ['0', '1', '7']);
    assert.deepEqual(res.body.classCounts, [{ label: '0', count: 8 }, { label: '1', count: 8 }, { label: '7', count: 8 }]);
    assert.equal(res.body.numExamples, 24);
    const src = res.body.source;
    assert.equal(src.sizeHistogram.find((b: { upTo: number }) => b.upTo === 32).count, 24);
    assert.deepEqual(src.thumbnails.map((t: { label: string }) => t.label), ['0', '1', '7']);
    for (const t of src.thumbnails) assert.ok((await h.storage.getBytes(t.key)).byteLength > 50, 'a thumbnail PNG is stored');

    // The worker's read: raw scaling gives the pixels; lossless formats exactly, JPEG closely.
    const row = await h.db.dataset.findUniqueOrThrow({ where: { id: res.body.id } });
    const ex = await loadLabeledExamples(row.source as unknown as StoredSource, h.storage, ['0', '1', '7']);
    assert.deepEqual(ex.featureShape, [28, 28, 1]);
    assert.deepEqual(Array.from(ex.classes), digits.map((d) => ['0', '1', '7'].indexOf(String(d.label))));
    digits.forEach((d, i) => {
      const fmt = FORMATS[i % FORMATS.length];
      let worst = 0;
      for (let p = 0; p < 784; p++) worst = Math.max(worst, Math.abs(ex.features[i * 784 + p] - d.gray[p]));
      assert.ok(worst <= (fmt === 'jpeg' || fmt === 'progressive' ? 64 : 1), `${fmt} example ${i} differs by ${worst}`);
    });
    await h.db.dataset.delete({ where: { id: res.body.id } });
    await h.storage.deletePrefix('datasets/');
  });

  it('registers CSV and JSONL manifests, keeping one split when asked', async () => {
    const rows = digits.slice(0, 12).map((d, i) => ({ key: `m/${i}.png`, label: `digit ${d.label}`, split: i % 4 === 0 ? 'test' : 'train', d }));
    await Promise.all(rows.map(async (r) => h.storage.put(`${h.uploads}${r.key}`, await encode.png(r.d))));
    await h.storage.put(`${h.uploads}m/manifest.csv`, ['uri,label,split', ...rows.map((r) => `${uri(r.key)},"${r.label}",${r.split}`)].join('\n'));
    await h.storage.put(`${h.uploads}m/manifest.jsonl`, rows.map((r) => JSON.stringify({ uri: uri(r.key), label: r.label })).join('\n'));
    const csv = await register({ type: 'images', layout: 'manifest', uri: uri('m/manifest.csv'), split: 'test', preprocess: { size: [14, 14] } });
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    assert.equal(csv.body.numExamples, 3);
    assert.deepEqual(csv.body.featureShape, [14, 14, 3]);
    assert.deepEqual(csv.body.source.splitCounts, { train: 9, test: 3 });
    const jsonl = await register({ type: 'images', layout: 'manifest', uri: uri('m/manifest.jsonl'), preprocess: { size: [14, 14] } });
    assert.equal(jsonl.status, 201, JSON.stringify(jsonl.body));
    assert.deepEqual(jsonl.body.classCounts, [{ label: 'digit 0', count: 8 }, { label: 'digit 1', count: 4 }]);
    await h.db.dataset.deleteMany({});
    await h.storage.deletePrefix('datasets/');
  });

  it('a manifest may not reach outside the upload area or the allowed buckets', async () => {
    const other = await h.newTenant('other');
    await h.storage.put(`uploads/${other.tenantId}/x.png`, await encode.png(digits[0]));
    await h.storage.put(`${h.uploads}bad/theirs.csv`, `uri,label\n${uri('m/0.png')},a\ns3://${h.storage.bucket}/uploads/${other.tenantId}/x.png,b\n`);
    const theirs = await register({ type: 'images', layout: 'manifest', uri: uri('bad/theirs.csv'), preprocess: gray });
    assert.equal(theirs.status, 422);
    assert.equal(theirs.body.error.code, 'source_key_not_allowed');
    await h.storage.put(`${h.uploads}bad/bucket.csv`, `uri,label\ns3://elsewhere-bucket/x.png,a\n`);
    const bucket = await register({ type: 'images', layout: 'manifest', uri: uri('bad/bucket.csv'), preprocess: gray });
    assert.equal(bucket.status, 422);
    assert.equal(bucket.body.error.code, 'source_bucket_not_allowed');
    await assertNothingStored();
  });

  it('one hostile object refuses the whole collection with its 4xx, naming it, and leaves nothing behind', async () => {
    const [d] = digits;
    const png = await encode.png(d);
    const cases: Array<[string, Uint8Array | string, number, string, RegExp]> = [
      ['empty.png', new Uint8Array(0), 400, 'image_invalid', /zero bytes/],
      ['truncated.png', png.subarray(0, Math.floor(png.length * 0.6)), 400, 'image_invalid', /truncated or corrupt/],
      ['notes.png', 'just some text', 400, 'image_invalid', /not an image/],
      ['bomb.png', bombPng(20_000, 20_000), 413, 'image_too_large', /20000×20000/],
    ];
    for (const [name, bytes, status, code, reason] of cases) {
      const dir = `hostile-${name.replace('.', '-')}`;
      // Twenty good images first, so that shards are written before the bad one is met.
      await uploadFolders(dir, digits.slice(0, 20), ['png']);
      await h.storage.put(`${h.uploads}${dir}/7/zzz-${name}`, bytes);
      const res = await register({ type: 'images', layout: 'folders', uri: uri(`${dir}/`), preprocess: { size: [512, 512] } }); // 5 images a shard
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, name);
      assert.ok(res.body.error.message.includes(uri(`${dir}/7/zzz-${name}`)), `${name}: the message names the object: ${res.body.error.message}`);
      assert.match(res.body.error.message, reason);
      await assertNothingStored();
    }
  });

  it('refuses bad layouts and manifests: a file outside a class folder, a duplicate uri, a label with control characters', async () => {
    await h.storage.put(`${h.uploads}loose/a/1.png`, await encode.png(digits[0]));
    await h.storage.put(`${h.uploads}loose/stray.png`, await encode.png(digits[0]));
    const loose = await register({ type: 'images', layout: 'folders', uri: uri('loose/'), preprocess: gray });
    assert.equal(loose.status, 400);
    assert.equal(loose.body.error.code, 'dataset_invalid');
    assert.match(loose.body.error.message, /stray\.png is not inside a class folder/);
    await h.storage.put(`${h.uploads}dup.csv`, `uri,label\n${uri('loose/a/1.png')},a\n${uri('loose/a/1.png')},b\n`);
    const dup = await register({ type: 'images', layout: 'manifest', uri: uri('dup.csv'), preprocess: gray });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error.code, 'dataset_invalid');
    assert.deepEqual(dup.body.error.details, { row: 2, uri: uri('loose/a/1.png') });
    await h.storage.put(`${h.uploads}ctl.jsonl`, JSON.stringify({ uri: uri('loose/a/1.png'), label: 'a\u0007b' }));
    const ctl = await register({ type: 'images', layout: 'manifest', uri: uri('ctl.jsonl'), preprocess: gray });
    assert.equal(ctl.status, 400);
    assert.equal(ctl.body.error.code, 'dataset_invalid');
    assert.match(ctl.body.error.message, /control characters/);
    await assertNothingStored();
  });

  it("the planner refuses a job whose base model's input is not the images' prepared shape (422 input_shape_mismatch)", async () => {
    await uploadFolders('shape', digits.slice(0, 16), ['png']);
    const ds = await register({ type: 'images', layout: 'folders', uri: uri('shape/'), preprocess: { size: [8, 8], channels: 'grayscale' } });
    assert.equal(ds.status, 201, JSON.stringify(ds.body));
    const model = await http(h.app).post('/v1/models').send({ name: 'dense4', uri: await uploadTinyModel(h.storage, `${h.uploads}tiny/`) });
    assert.equal(model.status, 201, JSON.stringify(model.body));
    const job = await http(h.app).post('/v1/jobs').send({ trainDatasetId: ds.body.id, baseModelId: model.body.id });
    assert.equal(job.status, 422);
    assert.equal(job.body.error.code, 'input_shape_mismatch');
    assert.match(job.body.error.message, /\[4\].*\[8,8,1\]/);
  });
});
