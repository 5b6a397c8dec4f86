// A dependency (Postgres, Redis, S3) that cannot be reached or answers that it
// is unavailable. Not the job's fault and not the request's: workers wait it
// out without spending an attempt, and the API answers 503 with Retry-After.
import { TransientError } from '../errors.ts';

export const DEPENDENCIES = ['postgres', 'redis', 's3'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** storage_unavailable and queue_unavailable predate this class and keep their codes. */
export type DependencyErrorCode = 'dependency_unavailable' | 'storage_unavailable' | 'queue_unavailable';

export class DependencyError extends TransientError {
  constructor(
    readonly dependency: Dependency,
    message: string,
    code: DependencyErrorCode = 'dependency_unavailable',
    /** What the API puts in Retry-After. */
    readonly retryAfterSeconds = 5,
  ) {
    super(code, message, { dependency });
  }
}

/** A dependency stayed down for longer than OUTAGE_BUDGET_MS: the work gives up, naming it. */
export class OutageBudgetExhaustedError extends DependencyError {
  constructor(dependency: Dependency, budgetMs: number, cause: unknown) {
    super(dependency, `${dependency} was unavailable for longer than OUTAGE_BUDGET_MS (${budgetMs} ms): ${(cause as Error)?.message ?? String(cause)}`);
  }
}
