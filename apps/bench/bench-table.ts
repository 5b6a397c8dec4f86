// The benchmark's one table: per row and side, the median of the repeats
// with its range, and ours against each anchor as the median (and range) of
// the ratios of runs made next to each other.
import type { Run } from './anchors.ts';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** "median [min–max]", or the value alone for one run. */
export function spread(xs: number[], digits: number, unit = ''): string {
  if (xs.length === 0) return '–';
  const f = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const m = `${f(median(xs))}${unit}`;
  return xs.length === 1 ? m : `${m} [${f(Math.min(...xs))}–${f(Math.max(...xs))}]`;
}

interface Row {
  label: string;
  pick(r: Run): number | undefined;
  digits: number;
  unit?: string;
  /** Ratios ours/anchor: for throughput >1 is better, for time <1. */
  ratio?: boolean;
}

export const ROWS: Row[] = [
  { label: '(1) full training (pretrain 0–4), examples/s', pick: (r) => r.fullExPerSec, digits: 0, ratio: true },
  { label: '(2) the recipe as written: frozen base every batch (fine-tune 5–9), wall s', pick: (r) => r.recipeSeconds, digits: 1, unit: ' s', ratio: true },
  { label: '(3) the smart way: base features once, then the head (5–9), wall s', pick: (r) => r.smartSeconds, digits: 1, unit: ' s', ratio: true },
  { label: 'test accuracy 0–4 after (1)', pick: (r) => r.fullAcc, digits: 4 },
  { label: 'test accuracy 5–9 after (2)', pick: (r) => r.recipeAcc, digits: 4 },
  { label: 'test accuracy 5–9 after (3)', pick: (r) => r.smartAcc, digits: 4 },
];

/** runs[side][repeat]; a failed run is undefined. The first `ours` sides are ours, the rest anchors. */
export function table(names: string[], runs: Array<Array<Run | undefined>>, ours = 1): string {
  const pairs = names.slice(0, ours).flatMap((_, o) => names.slice(ours).map((_, j) => [o, ours + j] as const));
  const header = ['', ...names, ...pairs.map(([o, a]) => `${names[o]} / ${names[a]}`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const values = (side: number) => runs[side].flatMap((r) => (r && row.pick(r) !== undefined ? [row.pick(r)!] : []));
    const cells = names.map((_, i) => spread(values(i), row.digits, row.unit));
    const ratios = pairs.map(([o, a]) => {
      if (!row.ratio) return '';
      // Runs of the same repeat ran next to each other, so they share the machine's mood.
      const r = runs[o].flatMap((mine, k) => {
        const theirs = runs[a][k];
        const [x, y] = [mine && row.pick(mine), theirs && row.pick(theirs)];
        return x !== undefined && y !== undefined ? [x / y] : [];
      });
      return r.length ? `**${spread(r, 2)}**` : '–';
    });
    lines.push(`| ${[row.label, ...cells, ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}
