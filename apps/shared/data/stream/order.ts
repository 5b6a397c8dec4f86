// The seeded order a stream visits examples in, per epoch: a block shuffle.
// Shards are permuted, then taken `window` at a time, and the examples of
// each window are permuted among themselves. Only a window of shards is ever
// resident, and the order is a pure function of (seed, epoch): resuming at
// batch b of an epoch computes the same order and skips to it, with nothing to
// replay (a streaming shuffle buffer's state would have to be saved instead).

import { seededRandom } from '../../seeded-random.ts';

export interface WindowPlan {
  /** Shards of this window, in the order they are read. */
  shards: number[];
  /** Positions into the window's examples (the shards' examples concatenated in that order). */
  order: Int32Array;
}

function permute(n: number, rand: () => number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Mixes seed and epoch so that epochs differ and (seed, epoch) pairs do not collide trivially. */
export const epochSeed = (seed: number, epoch: number) => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;

/** The epoch's windows; shuffle false keeps storage order (evaluation). */
export function epochPlan(shardSizes: number[], window: number, seed: number, epoch: number, shuffle = true): WindowPlan[] {
  const rand = seededRandom(epochSeed(seed, epoch));
  const shards = shuffle ? Array.from(permute(shardSizes.length, rand)) : shardSizes.map((_, i) => i);
  const plans: WindowPlan[] = [];
  for (let w = 0; w < shards.length; w += window) {
    const group = shards.slice(w, w + window);
    const n = group.reduce((sum, s) => sum + shardSizes[s], 0);
    plans.push({ shards: group, order: shuffle ? permute(n, rand) : Int32Array.from({ length: n }, (_, i) => i) });
  }
  return plans;
}
