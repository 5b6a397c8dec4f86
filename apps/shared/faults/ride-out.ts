// Waits out a dependency outage: a call that fails because Postgres, Redis or
// S3 is down is tried again, with capped exponential backoff and jitter, until
// it succeeds or the outage has lasted OUTAGE_BUDGET_MS. Anything else (the
// job's fault, the request's fault, a lost lease) goes straight through.
import type { Config } from '../config.ts';
import { OutageBudgetExhaustedError, type Dependency } from './dependency-error.ts';

export interface OutagePolicy {
  budgetMs: number;
  retryMaxMs: number;
  /** Said before each wait: which dependency, for how long it has been down, the error. */
  onWait?: (dependency: Dependency, downForMs: number, err: unknown) => void;
  /** Said once the dependency answers again after at least one wait. */
  onRecovered?: (dependency: Dependency, downForMs: number) => void;
}

export function outagePolicy(config: Pick<Config, 'outage'>, hooks: Pick<OutagePolicy, 'onWait' | 'onRecovered'> = {}): OutagePolicy {
  return { budgetMs: config.outage.budgetMs, retryMaxMs: config.outage.retryMaxMs, ...hooks };
}

const FIRST_DELAY_MS = 100;

/** Backoff before try n (0-based): doubling from 100 ms, capped, with "equal jitter" (half fixed, half random). */
export function backoffMs(n: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, FIRST_DELAY_MS * 2 ** Math.min(n, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * Runs fn; while it fails with a fault that `faultOf` attributes to a dependency,
 * waits and runs it again. The budget counts from the first failure of this call.
 */
export async function rideOut<T>(fn: () => Promise<T>, faultOf: (err: unknown) => Dependency | undefined, policy: OutagePolicy): Promise<T> {
  let since: number | undefined;
  let down: Dependency | undefined;
  for (let n = 0; ; n++) {
    try {
      const value = await fn();
      if (down && since !== undefined) policy.onRecovered?.(down, Date.now() - since);
      return value;
    } catch (err) {
      const dependency = faultOf(err);
      if (!dependency) throw err;
      since ??= Date.now();
      down = dependency;
      const downFor = Date.now() - since;
      if (downFor >= policy.budgetMs) throw new OutageBudgetExhaustedError(dependency, policy.budgetMs, err);
      policy.onWait?.(dependency, downFor, err);
      await new Promise((r) => setTimeout(r, Math.min(backoffMs(n, policy.retryMaxMs), policy.budgetMs - downFor)));
    }
  }
}
