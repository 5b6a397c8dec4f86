// The soak from start to report: set up, start the workers, submit the jobs,
// inject faults while jobs are unfinished and the budget lasts, let the rest
// drain without faults, then read back what became of every job.
import type { FinetuneClient } from '../../client/index.ts';
import type { Config } from '../../shared/config.ts';
import { SoakEnv } from './environment.ts';
import { injectFlush, injectKill } from './faults.ts';
import { readLogs, result } from './figures.ts';
import { SoakJobs } from './jobs.ts';
import { say, sleep } from './log.ts';
import { POLL_MS, seededRandom, type Random, type SoakOptions } from './options.ts';
import { printReport } from './report.ts';
import { newStats } from './stats.ts';
import { WorkerPool } from './workers.ts';

const REPORT_EVERY_MS = 15_000;

export class Soak {
  readonly stats = newStats();
  readonly env: SoakEnv;
  readonly #random: Random;
  readonly #stop = new AbortController();
  #pool?: WorkerPool;
  #nextReport = 0;
  #cleaning?: Promise<void>;

  constructor(private readonly opts: SoakOptions) {
    this.env = new SoakEnv(opts);
    this.#random = seededRandom(opts.seed);
  }

  get interrupted(): boolean {
    return this.#stop.signal.aborted;
  }

  /** A signal: the phases stop at their next turn. */
  interrupt(): void {
    this.#stop.abort();
  }

  /** The exit status: 0 when no job was lost or failed, 1 otherwise, 2 for a busy Redis db, 130 when interrupted. */
  async run(): Promise<number> {
    const o = this.opts;
    say(`soak ${this.env.runId}: jobs ${o.jobs}, workers ${o.workers}, minutes ${o.minutes}, kill every ~${o.killEveryS} s, flush every ~${o.flushEveryS} s, redis db ${o.redisDb}, seed ${o.seed}`);
    if (!(await this.env.redisIsFree())) return 2;
    const { config, client } = await this.env.open(this.stats);
    const pool = new WorkerPool({ config, redis: this.env.redis, logDir: this.env.logDir, logLevel: o.workerLogLevel, size: o.workers, stats: this.stats });
    this.#pool = pool;
    await pool.start(this.#stop.signal);
    const jobs = new SoakJobs(client, this.env, config.queueName, this.env.redis, this.stats);
    await jobs.submit(o.jobs);
    await this.#faults(pool, jobs);
    if (this.interrupted) return 130;
    await this.#drain(pool, jobs);
    if (this.interrupted) return 130;
    await jobs.poll();
    const lostStates = await jobs.lostStates();
    await jobs.close();
    say(`done: ${jobs.summary()}`);
    return this.#report(client, config, jobs, lostStates);
  }

  /** Faults, while jobs are unfinished and the budget lasts. */
  async #faults(pool: WorkerPool, jobs: SoakJobs): Promise<void> {
    const { jittered } = this.#random;
    const faultsUntil = Date.now() + this.opts.minutes * 60_000;
    let nextKill = Date.now() + jittered(this.opts.killEveryS);
    let nextFlush = Date.now() + jittered(this.opts.flushEveryS);
    let nextOutage = Date.now() + jittered(this.opts.outageEveryS);
    let nextPoll = 0;
    this.#nextReport = Date.now() + REPORT_EVERY_MS;
    while (!this.interrupted && Date.now() < faultsUntil) {
      if (Date.now() >= nextPoll) {
        await jobs.poll();
        await jobs.watchdog();
        nextPoll = Date.now() + POLL_MS;
        if (!jobs.unfinished().length) break;
      }
      if (Date.now() >= nextKill) {
        // No live worker (all starting): try again shortly.
        nextKill = injectKill(pool, this.#random, this.stats) ? Date.now() + jittered(this.opts.killEveryS) : Date.now() + 1_000;
      }
      if (Date.now() >= nextFlush) {
        await injectFlush(this.env.redis, this.opts.redisDb, this.stats).catch((err: Error) => say(`FLUSHDB failed: ${err.message}`));
        nextFlush = Date.now() + jittered(this.opts.flushEveryS);
      }
      if (Date.now() >= nextOutage && !this.env.outages!.busy) {
        this.env.outages!.inject(this.stats, this.env.redis);
        nextOutage = Date.now() + jittered(this.opts.outageEveryS);
      }
      pool.topUp();
      this.#progress(jobs, `workers live ${pool.live().length}, starting ${pool.count('starting')}, stopping ${pool.count('stopping')} | kills ${this.stats.kills}, sigterms ${this.stats.sigterms}, flushes ${this.stats.flushes}`);
      await sleep(250);
    }
  }

  /** No more faults: the remaining workers get a while to finish. */
  async #drain(pool: WorkerPool, jobs: SoakJobs): Promise<void> {
    if (!jobs.unfinished().length) return;
    say(`fault budget spent with ${jobs.unfinished().length} job(s) unfinished (${jobs.summary()}); up to ${this.opts.drainMinutes} min more without faults`);
    const drainUntil = Date.now() + this.opts.drainMinutes * 60_000;
    while (!this.interrupted && Date.now() < drainUntil) {
      pool.topUp();
      await jobs.poll();
      await jobs.watchdog();
      if (!jobs.unfinished().length) break;
      this.#progress(jobs, `workers live ${pool.live().length}`);
      await sleep(POLL_MS);
    }
  }

  /** A progress line every REPORT_EVERY_MS. */
  #progress(jobs: SoakJobs, workers: string): void {
    if (Date.now() < this.#nextReport) return;
    say(`jobs: ${jobs.summary()} | ${workers}`);
    this.#nextReport = Date.now() + REPORT_EVERY_MS;
  }

  async #report(client: FinetuneClient, config: Config, jobs: SoakJobs, lostStates: Record<string, number>): Promise<number> {
    const all = [...jobs.accepted.values()];
    const logs = await readLogs(client, all);
    const r = result({ seed: this.opts.seed, submitted: this.opts.jobs, jobs: all, lostStates, logs, stats: this.stats, config });
    printReport(this.env.runId, r, this.stats, logs.details, config.shutdownTimeoutMs);
    const serverErrors = Object.entries(this.stats.responses).filter(([status]) => Number(status) >= 500 && Number(status) !== 503);
    return r.jobs.lost === 0 && r.jobs.failed === 0 && serverErrors.length === 0 ? 0 : 1;
  }

  /** Last resort (an exception on the way out): no worker outlives the script. */
  killWorkers(): void {
    this.#pool?.killAll();
  }

  /** Workers (and their sandboxes) first, then the API, Redis, S3 and the data; once, however often called. */
  cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      await this.#pool?.stopAll();
      await this.env.close();
    })();
    return this.#cleaning;
  }
}
