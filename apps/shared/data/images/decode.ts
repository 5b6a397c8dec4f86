// One image file to prepared uint8 pixels, with libvips (sharp) doing the
// decoding: JPEG (EXIF orientation applied), PNG 8/16-bit, palette and alpha,
// WebP, and GIF's first frame. The header is read first, so a decompression
// bomb is refused before a pixel of it is decoded.
import sharp, { type Metadata } from 'sharp';
import { AppError, BadRequestError, LimitExceededError } from '../../errors.ts';
import type { ImagePreprocess } from './schema.ts';

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif'] as const;

// sharp's own worker threads, not the event loop, run the decoding; one per core is its default.
sharp.cache(false);

export interface DecodedImage {
  /** HWC uint8, preprocess.size and channels. */
  pixels: Uint8Array;
  /** The file's own size, after EXIF orientation. */
  width: number;
  height: number;
}

function invalid(uri: string, reason: string): never {
  throw new BadRequestError('image_invalid', `${uri}: ${reason}`, { uri, reason });
}

const FIT = { stretch: 'fill', centerCrop: 'cover', pad: 'contain' } as const;

/** Reads the header only: format and size, with EXIF orientation's swap of the sides. */
async function header(bytes: Uint8Array, uri: string, maxPixels: number) {
  if (bytes.byteLength === 0) invalid(uri, 'the object is empty (zero bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    invalid(uri, 'not an image (JPEG, PNG, WebP or GIF)');
  }
  const format = meta.format as string | undefined;
  if (!format || !(IMAGE_FORMATS as readonly string[]).includes(format)) invalid(uri, `the format ${format ?? 'unknown'} is not JPEG, PNG, WebP or GIF`);
  // A GIF or WebP reports its first frame's height as pageHeight.
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width < 1 || height < 1) invalid(uri, 'the header has no size');
  if (width * height > maxPixels) {
    throw new LimitExceededError('image_too_large', `${uri}: the header claims ${width}×${height} pixels`, 413, 'MAX_IMAGE_PIXELS', maxPixels, width * height);
  }
  const swapped = (meta.orientation ?? 1) >= 5;
  return { width: swapped ? height : width, height: swapped ? width : height };
}

export async function decodeImage(bytes: Uint8Array, uri: string, prep: ImagePreprocess, maxPixels: number): Promise<DecodedImage> {
  const size = await header(bytes, uri, maxPixels);
  const [h, w] = prep.size;
  let img = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 })
    .rotate() // EXIF orientation
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .resize(w, h, { fit: FIT[prep.resize], position: 'centre', background: { r: 0, g: 0, b: 0 } });
  img = prep.channels === 'grayscale' ? img.grayscale() : img.toColourspace('srgb');
  try {
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const channels = prep.channels === 'grayscale' ? 1 : 3;
    if (info.width !== w || info.height !== h || info.channels !== channels || data.byteLength !== w * h * channels) {
      invalid(uri, `decoded to ${info.width}×${info.height}×${info.channels}, not ${w}×${h}×${channels}`);
    }
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ...size };
  } catch (err) {
    if (err instanceof AppError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    // The header was read: what fails now is the data after it.
    invalid(uri, `the image data is truncated or corrupt (${msg.slice(0, 120).replace(/\s+/g, ' ').trim()})`);
  }
}

/** A small PNG of the image (longest side 64) for the dashboard. */
export function thumbnail(bytes: Uint8Array, maxPixels: number): Promise<Buffer> {
  return sharp(bytes, { limitInputPixels: maxPixels, pages: 1 }).rotate().resize(64, 64, { fit: 'inside' }).png().toBuffer();
}
