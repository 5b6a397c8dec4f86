// What Linux's /proc says about a process: its CPU time, its children, whether it lives.
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the comm field (which may contain spaces): state is [0], ppid [1]. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds a process has used (utime + stime), from /proc; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = statFields(pid);
    // utime [11], stime [12], in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Children of a process, from /proc (the sandboxes of a worker). */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(entry)[1]) === pid) kids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
