// What the soak counts while it runs: faults injected, worker starts and exits,
// and what the workers' logs said.
export interface SigtermExit {
  code: number | null;
  signal: string | null;
  ms: number;
}

export interface Stats {
  kills: number;
  sigterms: number;
  flushes: number;
  spawnFailures: number;
  unexpectedExits: number;
  workersStarted: number;
  sigtermExits: SigtermExit[];
  orphanedSandboxes: number;
  orphansAfter30s: number;
  leaseLostStops: number;
  /** Warn/error lines from workers and their sandboxes, by level and message. */
  workerLog: Map<string, number>;
  submitRetries: number;
  stalls: number;
  startupMs: number[];
  /** Dependency outages made (outages.ts), by kind. */
  outages: Record<string, number>;
  /** The API's responses by status, faults or not: a 500 fails the soak. */
  responses: Record<string, number>;
}

export function newStats(): Stats {
  return {
    kills: 0,
    sigterms: 0,
    flushes: 0,
    spawnFailures: 0,
    unexpectedExits: 0,
    workersStarted: 0,
    sigtermExits: [],
    orphanedSandboxes: 0,
    orphansAfter30s: 0,
    leaseLostStops: 0,
    workerLog: new Map(),
    submitRetries: 0,
    stalls: 0,
    startupMs: [],
    outages: {},
    responses: {},
  };
}
