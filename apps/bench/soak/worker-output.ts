// Reads the workers' stdout/stderr as it comes: counts warn/error lines by
// level and message (job ids vary; the message is what groups them), and the
// sandboxes that stopped because another worker took their job.
import type { Stats } from './stats.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const AWS_NOTICE = /NodeVersionSupportWarning|versions published after the first week|will require node >=|To continue receiving updates to AWS|and security updates please upgrade|More information can be found at: https:\/\/a\.co|node --trace-warnings/;
const LEVELS: Record<number, string> = { 60: 'fatal', 50: 'error', 40: 'warn' };
const COUNTED = new Set(['warn', 'error', 'fatal', 'raw']);

/** A line's level and grouping message; undefined for a line not worth counting. */
function classify(line: string): { level: string; msg: string } | undefined {
  try {
    const parsed = JSON.parse(line) as { level?: number; msg?: string; role?: string; err?: unknown };
    const err = typeof parsed.err === 'string' ? parsed.err : (parsed.err as { message?: string } | undefined)?.message;
    return {
      level: LEVELS[parsed.level ?? 0] ?? String(parsed.level),
      msg: `${parsed.role ?? '?'}: ${parsed.msg ?? ''}${err ? ` (${err.replace(UUID, '<id>').slice(0, 100)})` : ''}`,
    };
  } catch {
    // Not a pino line (a stack trace, a runtime warning): counted raw, minus the AWS SDK's Node-version notice.
    return AWS_NOTICE.test(line) ? undefined : { level: 'raw', msg: line.slice(0, 120) };
  }
}

/** Takes one chunk of a worker's output; `carry` holds a line cut off at the chunk's end. */
export function scanWorkerOutput(chunk: string, carry: { rest: string }, stats: Stats): void {
  const lines = (carry.rest + chunk).split('\n');
  carry.rest = lines.pop() ?? '';
  for (const line of lines) {
    if (!line.trim()) continue;
    const found = classify(line);
    if (!found) continue;
    if (/lost the job's lease|another worker holds the job now/.test(line)) stats.leaseLostStops++;
    if (!COUNTED.has(found.level)) continue;
    const key = `${found.level} ${found.msg}`;
    stats.workerLog.set(key, (stats.workerLog.get(key) ?? 0) + 1);
  }
}
