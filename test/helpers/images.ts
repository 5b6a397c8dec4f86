// Image files made by the tests from the MNIST package with sharp (no downloads),
// and hostile ones crafted byte by byte.
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
