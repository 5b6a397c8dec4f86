// How the service rides out a dependency (Postgres, Redis, S3) that is down:
// the work waits, retrying with capped exponential backoff and jitter, and
// never spends one of a job's JOB_ATTEMPTS on it (docs/outages.md).
import { int } from './kinds.ts';

export const outages = {
  outage: {
    budgetMs: int('OUTAGE_BUDGET_MS', 900_000, {
      min: 1_000,
      doc: 'how long a job waits out a continuous outage of Postgres, Redis or S3 before it fails with `dependency_unavailable`; outages never consume `JOB_ATTEMPTS`',
    }),
    retryMaxMs: int('OUTAGE_RETRY_MAX_MS', 10_000, {
      min: 50,
      doc: 'the longest wait between two tries of a dependency that is down (backoff from 100 ms, doubled, with jitter)',
    }),
    probeIntervalMs: int('OUTAGE_PROBE_INTERVAL_MS', 2_000, {
      min: 100,
      doc: 'how often a worker process checks Postgres, Redis and S3; while one is down it takes no new jobs',
    }),
  },
};
