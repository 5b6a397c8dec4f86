// `npx tsx apps/bench/api/profile-summary.ts <file.cpuprofile>`: where a V8 CPU
// profile's time went, as self time by package (or node internals, or our own
// code) and by function: the text form of a flame graph's widest bars.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function owner(url: string): string {
  if (!url) return '(native / gc / idle)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const app = /\/apps\/(.*)$/.exec(url);
  return app ? `apps/${app[1].split('/').slice(0, 3).join('/')}` : url;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [top] [last seconds] [but not the last seconds]');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const p = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
// Only the last N seconds (the load, not the start-up's module loading), if asked; and not the
// last M (a window: one scenario of several run back to back).
const at: number[] = [];
p.timeDeltas.reduce((t, d, i) => (at[i] = t + d), 0);
const from = process.argv[4] ? at[at.length - 1] - Number(process.argv[4]) * 1e6 : -Infinity;
const to = process.argv[5] ? at[at.length - 1] - Number(process.argv[5]) * 1e6 : Infinity;
p.samples.forEach((id, i) => at[i] >= from && at[i] < to && self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byOwner = new Map<string, number>();
const byFn = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') continue;
  byOwner.set(owner(url), (byOwner.get(owner(url)) ?? 0) + us);
  const fn = `${functionName || '(anonymous)'} ${owner(url)}${url ? `:${lineNumber + 1}` : ''}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
}
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${(total / 1e6).toFixed(1)} s profiled, ${pct(idle)} idle\n\nself time by owner:`);
for (const [k, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by function:');
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
