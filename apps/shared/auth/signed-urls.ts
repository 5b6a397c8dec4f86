// Short-lived signed URLs for model files, so another service (or a browser's
// tf.loadLayersModel) can fetch a trained model without holding an API key.
// The signature covers the model id and the expiry, so it opens that model's
// files only, and only until then.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signModelUrl(secret: string, modelId: string, expires: number): string {
  return createHmac('sha256', secret).update(`model:${modelId}:${expires}`).digest('base64url');
}

export function verifyModelUrl(secret: string, modelId: string, expires: number, signature: string, now = Date.now()): boolean {
  if (!Number.isInteger(expires) || expires * 1000 < now) return false;
  const expected = Buffer.from(signModelUrl(secret, modelId, expires));
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
