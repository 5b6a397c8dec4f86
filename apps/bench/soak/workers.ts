// The worker processes the soak runs, kills and replaces: each its own
// process group (so cleanup takes its sandboxes with it), its output in a log
// file and scanned, and "live" once its heartbeat shows in Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { configToEnv, type Config } from '../../shared/config.ts';
import { listWorkers } from '../../shared/queue/workers.ts';
import { say, sleep } from './log.ts';
import { STARTUP_TIMEOUT_MS } from './options.ts';
import type { Stats } from './stats.ts';
import { scanWorkerOutput } from './worker-output.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const WORKER_MAIN = path.join(ROOT, 'apps/worker/src/main.ts');

export interface WorkerProc {
  n: number;
  child: ChildProcess;
  pid: number;
  /** starting: waiting for its heartbeat; live: may be picked for a fault; stopping: signalled; dead: exited. */
  state: 'starting' | 'live' | 'stopping' | 'dead';
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: WriteStream;
  spawnedAt: number;
}

export interface PoolOptions {
  config: Config;
  redis: Redis;
  logDir: string;
  logLevel: string;
  /** How many to keep running. */
  size: number;
  stats: Stats;
}

export class WorkerPool {
  readonly all: WorkerProc[] = [];
  #seq = 0;

  constructor(private readonly opts: PoolOptions) {}

  live = () => this.all.filter((w) => w.state === 'live');
  running = () => this.all.filter((w) => w.state === 'live' || w.state === 'starting');
  count = (state: WorkerProc['state']) => this.all.filter((w) => w.state === state).length;

  spawn(): WorkerProc {
    const n = ++this.#seq;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
      cwd: ROOT,
      env: { ...configToEnv(this.opts.config), LOG_LEVEL: this.opts.logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: cleanup can take its sandboxes with it, and a
      // terminal's Ctrl-C reaches only this script, which then cleans up.
      detached: true,
    });
    if (child.pid === undefined) throw new Error('could not spawn a worker process');
    const log = createWriteStream(path.join(this.opts.logDir, `worker-${n}.log`));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const w: WorkerProc = { n, child, pid: child.pid, state: 'starting', exited, log, spawnedAt: Date.now() };
    for (const stream of [child.stdout!, child.stderr!]) {
      const carry = { rest: '' };
      stream.on('data', (b: Buffer) => {
        log.write(b);
        scanWorkerOutput(b.toString(), carry, this.opts.stats);
      });
    }
    void exited.then(({ code, signal }) => this.#onExit(w, code, signal));
    this.all.push(w);
    this.opts.stats.workersStarted++;
    void this.#waitReady(w);
    return w;
  }

  #onExit(w: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void {
    if (w.state === 'starting') {
      this.opts.stats.spawnFailures++;
      say(`worker #${w.n} (pid ${w.pid}) exited before it started (code ${code}, signal ${signal}); see ${String(w.log.path)}`);
    } else if (w.state === 'live') {
      this.opts.stats.unexpectedExits++;
      say(`worker #${w.n} (pid ${w.pid}) exited on its own (code ${code}, signal ${signal}); see ${String(w.log.path)}`);
    }
    w.state = 'dead';
    w.log.end();
  }

  /** A worker is live once its heartbeat is in Redis (it logs 'worker started' only at info). */
  async #waitReady(w: WorkerProc): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (w.state === 'starting' && Date.now() < deadline) {
      const found = await listWorkers(this.opts.redis, this.opts.config.queueName).catch(() => []);
      if (found.some((i) => i.pid === w.pid)) {
        if (w.state === 'starting') {
          w.state = 'live';
          this.opts.stats.startupMs.push(Date.now() - w.spawnedAt);
        }
        return;
      }
      await sleep(250);
    }
    // A FLUSHDB may have taken the key before we saw it; a process still up after this long has started.
    if (w.state === 'starting') {
      say(`worker #${w.n} (pid ${w.pid}): no heartbeat seen in ${STARTUP_TIMEOUT_MS / 1000} s; treating it as live`);
      w.state = 'live';
    }
  }

  /** Starts the pool, and waits (up to the start-up timeout, or until `stop`) for all to be live. */
  async start(stop: AbortSignal): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) this.spawn();
    const readyBy = Date.now() + STARTUP_TIMEOUT_MS;
    while (this.live().length < this.opts.size && Date.now() < readyBy && !stop.aborted) await sleep(250);
    say(`${this.live().length} worker(s) live: ${this.live().map((w) => `#${w.n} pid ${w.pid}`).join(', ')}`);
  }

  /** Keeps the pool's size running or starting (replaces any that died on their own). */
  topUp(): void {
    let missing = this.opts.size - this.running().length;
    while (missing-- > 0) {
      const w = this.spawn();
      say(`started worker #${w.n} (pid ${w.pid}) to keep ${this.opts.size} running`);
    }
  }

  /** SIGKILLs every worker's process group (sandboxes, orphans included). */
  killAll(): void {
    for (const w of this.all) {
      if (w.state !== 'dead') w.state = 'stopping';
      try {
        process.kill(-w.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
    }
  }

  /** Kills them all and waits up to 5 s for them to exit. */
  async stopAll(): Promise<void> {
    this.killAll();
    await Promise.race([Promise.all(this.all.map((w) => w.exited)), sleep(5_000)]);
  }
}
