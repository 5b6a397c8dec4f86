// Where a registered image dataset's objects are, and how big an example is;
// shared by registration and the readers (which must not load sharp).
import type { ImagePreprocess } from './schema.ts';

export const shardKey = (prefix: string, i: number) => `${prefix}shard-${String(i).padStart(5, '0')}.u8`;
export const indexKey = (prefix: string) => `${prefix}index.json`;

export function exampleBytes(p: ImagePreprocess): number {
  return p.size[0] * p.size[1] * (p.channels === 'grayscale' ? 1 : 3);
}
