// Live workers announce themselves under one Redis key each, with a TTL.
import type { Redis } from 'ioredis';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** The backend its training processes run on: tensorflow-gpu, tensorflow, webgpu, wasm or cpu. */
  backend: string;
  /** Where they compute: for native TensorFlow, the device it says it ran a matmul on. */
  device?: string;
  concurrency: number;
  startedAt: string;
}

export const workerKey = (queue: string, id: string) => `finetune:${queue}:workers:${id}`;

export async function listWorkers(redis: Redis, queue: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', workerKey(queue, '*'), 'COUNT', 100);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerInfo);
}
