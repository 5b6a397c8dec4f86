// The soak's report: the figures as lines of text, then the same as one JSON
// line prefixed `soak-result ` (the last line, for scripts).
import type { Result } from './figures.ts';
import { STALL_MS } from './options.ts';
import type { Stats } from './stats.ts';

const pairs = (counts: Record<string, number>) => Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ');

function jobLines(r: Result): string[] {
  const { jobs: j } = r;
  return [
    `jobs: accepted ${j.accepted}/${j.submitted}, succeeded ${j.succeeded}, failed ${j.failed}${j.failed ? ` ${JSON.stringify(j.failedCodes)}` : ''}, cancelled ${j.cancelled}, lost ${j.lost}${j.lost ? ` (Postgres status/BullMQ state: ${pairs(j.lostStates)})` : ''}`,
    `faults: kill -9 ${r.faults.kills}, SIGTERM ${r.faults.sigterms}, FLUSHDB ${r.faults.flushes}; outages: ${pairs(r.faults.outages) || 'none'}`,
    `API responses by status: ${pairs(r.responses)}`,
    `attempts: ${r.totalAttempts} in all (${(r.totalAttempts / Math.max(1, j.accepted)).toFixed(2)} per job); retries after transient failures ${r.retries}`,
    `interruptions recorded: ${pairs(r.interruptions) || 'none'}`,
    `epochs done twice: ${r.epochsDoneTwice}`,
    `stalls: ${r.stalls} time(s) a job showed no progress for ${STALL_MS / 1000} s or more`,
    `integrity: succeeded without output model ${r.integrity.succeededWithoutModel}, succeeded without exactly one metric row per epoch ${r.integrity.succeededWithIncompleteMetrics}`,
  ];
}

function workerLines(r: Result, graceMs: number): string[] {
  const w = r.workers;
  const c = r.concurrentRuns;
  const exits = w.sigtermExits.map((e) => `${e.code ?? e.signal} in ${(e.ms / 1000).toFixed(1)} s`).join(', ') || 'none';
  return [
    `workers: ${w.started} started (spawn to first heartbeat: median ${w.startupSecondsMedian} s, max ${w.startupSecondsMax} s), ${w.spawnFailures} failed to start, ${w.unexpectedExits} exited on their own; SIGTERM exits (${w.sigtermAtDeadline} took the whole ${graceMs / 1000} s grace): ${exits}`,
    `ran on two workers at once: partially measurable; lease-lost stops ${c.leaseLostStops}, sandboxes outliving their kill -9ed worker by 5 s ${c.orphanedSandboxes}, by 30 s ${c.orphansAfter30s} (${c.note})`,
  ];
}

/** Prints the report; `details` are the paragraphs on jobs that did not succeed. */
export function printReport(runId: string, r: Result, stats: Stats, details: string[], graceMs: number): void {
  const lines = ['', `soak ${runId} (seed ${r.seed}), ${r.wallSeconds} s`, ...jobLines(r), ...workerLines(r, graceMs)];
  const logLines = [...stats.workerLog].sort((a, b) => b[1] - a[1]);
  if (logLines.length) {
    lines.push('worker warnings and errors (count, level, role: message):');
    for (const [k, n] of logLines.slice(0, 15)) lines.push(`  ${String(n).padStart(4)} ${k}`);
  }
  if (details.length) lines.push('jobs that did not succeed:', ...details);
  lines.push(`soak-result ${JSON.stringify(r)}`);
  for (const line of lines) console.log(line);
}
