// Decoding and preparing one image with sharp: every format gives the digit's
// own pixels back, EXIF orientation is applied, the resize modes and scaling
// presets do what they say, and hostile files are refused with their reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeImage } from '../apps/shared/data/images/decode.ts';
import { scalePixels } from '../apps/shared/data/images/scaling.ts';
import { withPreprocessDefaults, type ImagePreprocess } from '../apps/shared/data/images/schema.ts';
import { AppError } from '../apps/shared/errors.ts';
import { bombPng, encode, mnistDigits, solid } from './helpers/images.ts';

const gray28 = withPreprocessDefaults({ size: [28, 28], channels: 'grayscale' });
const MAX = 40_000_000;

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  return err;
}

describe('image decoding', () => {
  it('reads the digit back exactly from lossless formats, and closely from JPEG', async () => {
    const [d] = await mnistDigits([3], 1);
    // Lossless: PNG 8-bit, 16-bit, palette (a digit has few grays), alpha (opaque), WebP lossless, GIF (≤256 grays).
    for (const fmt of ['png', 'grayPng', 'png16', 'palette', 'alpha', 'webp', 'gif'] as const) {
      const out = await decodeImage(await encode[fmt](d), `s3://b/${fmt}`, gray28, MAX);
      assert.equal(out.width, 28);
      assert.ok(maxDiff(out.pixels, d.gray) <= 1, `${fmt}: differs by ${maxDiff(out.pixels, d.gray)}`);
    }
    for (const fmt of ['jpeg', 'progressive'] as const) {
      const out = await decodeImage(await encode[fmt](d), `s3://b/${fmt}`, gray28, MAX);
      let sum = 0;
      for (let i = 0; i < 784; i++) sum += Math.abs(out.pixels[i] - d.gray[i]);
      assert.ok(sum / 784 < 6, `${fmt}: mean difference ${sum / 784}`);
    }
  });

  it('RGB output repeats a gray image over three channels', async () => {
    const [d] = await mnistDigits([5], 1);
    const out = await decodeImage(await encode.png(d), 's3://b/x', withPreprocessDefaults({ size: [28, 28] }), MAX);
    assert.equal(out.pixels.length, 28 * 28 * 3);
    for (let p = 0; p < 784; p++) for (let c = 0; c < 3; c++) assert.equal(out.pixels[p * 3 + c], d.gray[p]);
  });

  it('applies EXIF orientation: a landscape photo tagged "rotate 90°" comes out portrait, rotated', async () => {
    // 40 wide × 20 tall, left half white, right half black.
    const px = new Uint8Array(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) px.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    const sharp = (await import('sharp')).default;
    const jpeg = await sharp(Buffer.from(px), { raw: { width: 40, height: 20, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const out = await decodeImage(jpeg, 's3://b/exif.jpg', withPreprocessDefaults({ size: [40, 20], channels: 'grayscale' }), MAX);
    assert.deepEqual([out.width, out.height], [20, 40], 'the size is reported after rotation');
    // Orientation 6 turns the image 90° clockwise: the white left half becomes the top.
    assert.ok(out.pixels[2 * 20 + 10] > 200, `top is white: ${out.pixels[2 * 20 + 10]}`);
    assert.ok(out.pixels[37 * 20 + 10] < 50, `bottom is black: ${out.pixels[37 * 20 + 10]}`);
  });

  it('stretch, centerCrop and pad give their own layouts', async () => {
    const red = await solid(40, 20, [255, 0, 0]).png().toBuffer();
    const prep = (resize: ImagePreprocess['resize']) => withPreprocessDefaults({ size: [20, 20], resize });
    const redAt = (px: Uint8Array, row: number) => px[(row * 20 + 10) * 3] === 255 && px[(row * 20 + 10) * 3 + 1] === 0;
    const blackAt = (px: Uint8Array, row: number) => px[(row * 20 + 10) * 3] === 0;
    for (const mode of ['stretch', 'centerCrop'] as const) {
      const { pixels } = await decodeImage(red, 's3://b/r', prep(mode), MAX);
      assert.ok(redAt(pixels, 0) && redAt(pixels, 19), `${mode} fills the frame`);
    }
    const { pixels } = await decodeImage(red, 's3://b/r', prep('pad'), MAX);
    // 40×20 into 20×20 keeps the aspect: 20×10 of red, 5 rows of black above and below.
    assert.ok(blackAt(pixels, 0) && blackAt(pixels, 19) && redAt(pixels, 10), 'pad letterboxes with black');
  });

  it('scaling presets match their definitions', () => {
    const px = Uint8Array.from([0, 128, 255]);
    const out = (s: Parameters<typeof scalePixels>[2]) => {
      const f = new Float32Array(3);
      scalePixels(px, 3, s, f);
      return Array.from(f, (v) => Math.round(v * 1000) / 1000);
    };
    assert.deepEqual(out('raw'), [0, 128, 255]);
    assert.deepEqual(out('unit'), [0, 0.502, 1]);
    assert.deepEqual(out('symmetric'), [-1, 0.004, 1]);
    // caffe: BGR, minus the ImageNet means (B 103.939, G 116.779, R 123.68).
    assert.deepEqual(out('caffe'), [255 - 103.939, 128 - 116.779, 0 - 123.68].map((v) => Math.round(v * 1000) / 1000));
    // torch: (x/255 - mean) / std, RGB.
    assert.deepEqual(out('torch'), [(0 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225].map((v) => Math.round(v * 1000) / 1000));
  });

  it('refuses hostile files with a reason naming the object', async () => {
    const [d] = await mnistDigits([1], 1);
    const png = await encode.png(d);
    const jpeg = await encode.jpeg(d);
    const cases: Array<[string, Uint8Array, string, RegExp]> = [
      ['empty.png', new Uint8Array(0), 'image_invalid', /zero bytes/],
      ['text.png', Buffer.from('label,uri\nnot,an image\n'), 'image_invalid', /not an image/],
      ['truncated.png', png.subarray(0, Math.floor(png.length * 0.6)), 'image_invalid', /truncated or corrupt/],
      ['truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'image_invalid', /truncated or corrupt/],
      ['svg.png', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'image_invalid', /not JPEG, PNG, WebP or GIF|not an image/],
    ];
    for (const [name, bytes, code, reason] of cases) {
      const err = await refusal(decodeImage(bytes, `s3://b/${name}`, gray28, MAX));
      assert.equal(err.code, code, `${name}: ${err.message}`);
      assert.equal(err.statusCode, 400);
      assert.match(err.message, new RegExp(`s3://b/${name.replace('.', '\\.')}`));
      assert.match(err.message, reason, name);
    }
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const err = await refusal(decodeImage(bombPng(60_000, 60_000), 's3://b/bomb.png', gray28, MAX));
    assert.equal(err.code, 'image_too_large');
    assert.equal(err.statusCode, 413);
    assert.deepEqual(err.details, { setting: 'MAX_IMAGE_PIXELS', limit: MAX, actual: 3_600_000_000 });
  });
});
