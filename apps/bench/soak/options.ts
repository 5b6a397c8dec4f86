// The soak's flags (see apps/bench/soak.ts for their meaning), its fixed
// timings, and the seeded random numbers that make its fault schedule repeatable.
import { parseArgs } from 'node:util';

export interface SoakOptions {
  jobs: number;
  workers: number;
  minutes: number;
  killEveryS: number;
  flushEveryS: number;
  /** ~seconds between dependency outages (database restart, storage outage, Redis restart, in turn). */
  outageEveryS: number;
  storageOutageS: number;
  drainMinutes: number;
  redisDb: number;
  seed: number;
  /** The workers' and sandboxes' log level (their logs land in the log dir). */
  workerLogLevel: string;
  keep: boolean;
  force: boolean;
}

/** Fraction of kills that are SIGKILL; the rest are SIGTERM. */
export const SIGKILL_SHARE = 0.7;
/** A sandbox alive this long after its worker was SIGKILLed is an orphan (it should exit on disconnect). */
export const ORPHAN_AFTER_MS = 5_000;
export const STARTUP_TIMEOUT_MS = 90_000;
export const POLL_MS = 2_000;
/** A running or queued job with no change in status, epoch or attempts for this long gets its state printed. */
export const STALL_MS = 30_000;
export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** BullMQ states in which a worker will still take the job. */
export const IN_LINE = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** Bad flags: the message, and exit status 2. */
function usage(message: string): never {
  console.error(message);
  process.exit(2);
}

function positive(name: string, raw: string | undefined, integer = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) usage(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  return n;
}

export function readOptions(args = process.argv.slice(2)): SoakOptions {
  const { values } = parseArgs({
    args,
    options: {
      jobs: { type: 'string', default: '20' },
      workers: { type: 'string', default: '2' },
      minutes: { type: 'string', default: '10' },
      'kill-every': { type: 'string', default: '8' },
      'flush-every': { type: 'string', default: '30' },
      'outage-every': { type: 'string', default: '45' },
      'storage-outage': { type: 'string', default: '20' },
      'redis-db': { type: 'string', default: '9' },
      'drain-minutes': { type: 'string', default: '2' },
      seed: { type: 'string' },
      'worker-log-level': { type: 'string', default: 'warn' },
      keep: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  const redisDb = Number(values['redis-db']);
  if (!Number.isInteger(redisDb) || redisDb < 0 || redisDb > 15) usage(`--redis-db must be an integer 0..15, got "${values['redis-db']}"`);
  return {
    jobs: positive('jobs', values.jobs, true),
    workers: positive('workers', values.workers, true),
    minutes: positive('minutes', values.minutes),
    killEveryS: positive('kill-every', values['kill-every']),
    flushEveryS: positive('flush-every', values['flush-every']),
    outageEveryS: positive('outage-every', values['outage-every']),
    storageOutageS: positive('storage-outage', values['storage-outage']),
    drainMinutes: positive('drain-minutes', values['drain-minutes']),
    redisDb,
    seed: values.seed !== undefined ? positive('seed', values.seed, true) : Math.floor(Math.random() * 2 ** 31),
    workerLogLevel: values['worker-log-level']!,
    keep: values.keep!,
    force: values.force!,
  };
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** ~seconds, in ms, randomised ±50%. */
  jittered(seconds: number): number;
}

/** mulberry32: the fault schedule follows --seed (the timing of the service does not). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, jittered: (seconds) => seconds * 1000 * (0.5 + next()) };
}
