// The faults: kill -9 or SIGTERM a live worker (and start a replacement), and
// FLUSHDB the soak's Redis database (Redis losing its data).
import type { Redis } from 'ioredis';
import { say } from './log.ts';
import { ORPHAN_AFTER_MS, SIGKILL_SHARE, type Random } from './options.ts';
import { alive, childrenOf, cpuSeconds } from './proc.ts';
import type { Stats } from './stats.ts';
import type { WorkerPool, WorkerProc } from './workers.ts';

/** Kills a random live worker, 70% by SIGKILL; false when none is live (all starting). */
export function injectKill(pool: WorkerPool, random: Random, stats: Stats): boolean {
  const candidates = pool.live();
  if (!candidates.length) return false;
  const w = candidates[Math.floor(random.next() * candidates.length)];
  if (random.next() < SIGKILL_SHARE) sigkill(w, stats);
  else sigterm(w, stats);
  pool.spawn();
  return true;
}

function sigkill(w: WorkerProc, stats: Stats): void {
  const sandboxes = childrenOf(w.pid);
  w.state = 'stopping';
  w.child.kill('SIGKILL');
  stats.kills++;
  say(`fault: kill -9 worker #${w.n} (pid ${w.pid}, sandboxes ${sandboxes.join(',') || 'none'})`);
  // Sandboxes exit when their IPC channel closes; one still alive later may be training next to the job's new holder.
  setTimeout(() => watchOrphans(w, sandboxes, stats), ORPHAN_AFTER_MS).unref();
}

function watchOrphans(w: WorkerProc, sandboxes: number[], stats: Stats): void {
  const orphans = sandboxes.filter(alive);
  if (!orphans.length) return;
  stats.orphanedSandboxes += orphans.length;
  const cpu = new Map(orphans.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  say(`sandbox(es) ${orphans.join(',')} of killed worker #${w.n} still alive ${ORPHAN_AFTER_MS / 1000} s later`);
  setTimeout(() => {
    const lasting = orphans.filter(alive);
    stats.orphansAfter30s += lasting.length;
    // CPU used meanwhile tells a sandbox still training from one sitting idle.
    const used = (pid: number) => ((cpuSeconds(pid) ?? 0) - cpu.get(pid)!).toFixed(1);
    if (lasting.length) say(`sandbox(es) ${lasting.map((pid) => `${pid} (${used(pid)} CPU s in the last 25 s)`).join(', ')} of killed worker #${w.n} still alive 30 s later`);
  }, 30_000 - ORPHAN_AFTER_MS).unref();
}

function sigterm(w: WorkerProc, stats: Stats): void {
  w.state = 'stopping';
  const sent = Date.now();
  w.child.kill('SIGTERM');
  stats.sigterms++;
  say(`fault: SIGTERM worker #${w.n} (pid ${w.pid})`);
  void w.exited.then(({ code, signal }) => {
    stats.sigtermExits.push({ code, signal, ms: Date.now() - sent });
    say(`worker #${w.n} exited after SIGTERM: code ${code}${signal ? `, signal ${signal}` : ''}, ${((Date.now() - sent) / 1000).toFixed(1)} s`);
  });
}

export async function injectFlush(redis: Redis, redisDb: number, stats: Stats): Promise<void> {
  await redis.flushdb();
  stats.flushes++;
  say(`fault: FLUSHDB redis db ${redisDb}`);
}
