// Live progress of an image dataset's registration, drawn on stderr from its
// event stream: objects decoded of the total, bytes read, images per class.
import type { Dataset } from '../client/index.ts';

const BAR_WIDTH = 20;

function bytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/** One line: the bar and counts of a validating dataset. */
export function registrationLine(d: Dataset): string {
  const p = d.progress;
  if (!p || p.objectsTotal === null) return `[${'-'.repeat(BAR_WIDTH)}]  listing the source…`;
  const fraction = p.objectsTotal > 0 ? Math.min(1, p.objectsDone / p.objectsTotal) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const classes = p.classCounts.slice(0, 5).map((c) => `${c.label}=${c.count}`).join(' ');
  const more = p.classCounts.length > 5 ? ` +${p.classCounts.length - 5} classes` : '';
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]  ${String(Math.round(fraction * 100)).padStart(3)}%  ${p.objectsDone}/${p.objectsTotal} images  ${bytes(p.bytesRead)}  ${classes}${more}`;
}

export class RegistrationProgress {
  private drawn = false;
  private last = '';

  /** tty: redraw one line in place; otherwise one plain line per change of at least 10%. */
  constructor(private readonly out: NodeJS.WritableStream, private readonly tty: boolean) {}

  update(d: Dataset): void {
    const line = registrationLine(d);
    if (this.tty) {
      const columns = (this.out as NodeJS.WriteStream).columns;
      this.out.write(`\r\x1b[2K${columns && line.length >= columns ? line.slice(0, columns - 1) : line}`);
      this.drawn = true;
      return;
    }
    const step = (s: string) => s.match(/(\d+)%/)?.[1]?.slice(0, -1) ?? '';
    if (step(line) !== step(this.last) || this.last === '') this.out.write(`${line}\n`);
    this.last = line;
  }

  stop(): void {
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
