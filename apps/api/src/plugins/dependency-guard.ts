// The API while a dependency is down: a request that needed Postgres while it
// was unreachable or restarting gets 503 dependency_unavailable with
// Retry-After, never a 500. Nothing is half-written: each write is one
// transaction, which the outage rolled back. The pg pool drops broken
// connections and opens new ones, so the API recovers without a restart.
import { dependencyFault } from '../../../shared/faults/classify.ts';
import { DependencyError } from '../../../shared/faults/dependency-error.ts';

/** How long a client is told to wait before trying again. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** The error a response should be made of: a typed DependencyError for a dependency fault, else the error itself. */
export function asDependencyError(err: unknown): DependencyError | undefined {
  if (err instanceof DependencyError) return err;
  const dependency = dependencyFault(err);
  if (!dependency) return undefined;
  return new DependencyError(dependency, `${dependency} is unavailable: ${(err as Error).message}`, 'dependency_unavailable', DEPENDENCY_RETRY_AFTER_SECONDS);
}
