// Determinism: the job's seed decides every random draw. tfjs draws its
// initialisers from Math.random when no seed is given, so a job runs with
// Math.random replaced by a seeded generator (each sandbox child runs one job
// at a time, so the swap stays within that job). The data order is seeded per
// epoch, and dropout masks per example (dropout-masks.ts).

import { seededRandom } from '../../../shared/seeded-random.ts';

export { seededRandom };

export function shuffledIndices(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = seededRandom(seed ^ 0x5eed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
