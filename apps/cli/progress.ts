// Live progress of a followed job, drawn on stderr from its event stream.
// The worker reports progress per epoch (`epoch` events: metrics, duration);
// there are no per-batch events, so the bar moves an epoch at a time and the
// ETA comes from the mean epoch duration so far.
import type { EpochEventData, Job, JobEvent } from '../client/index.ts';
import { duration, fixed } from './format.ts';

const BAR_WIDTH = 20;
/** The bar shows while the job runs; before and after, the status lines say it all. */
const DRAWN_WHILE = new Set(['running']);

export interface ProgressOptions {
  /** Redraw one line in place (a terminal); otherwise one plain line per change. */
  tty: boolean;
  /** Elapsed-time ticks between events, on a terminal. @defaultValue 1000 */
  tickMs?: number;
}

export class Progress {
  private total = 0;
  private epoch = 0;
  private latest?: EpochEventData;
  private durations: number[] = [];
  private lastEpochAt = Date.now();
  private status = '';
  private stage = '';
  private drawn = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WritableStream, private readonly opts: ProgressOptions) {}

  start(job: Job): void {
    this.total = job.progress.totalEpochs;
    this.note(`job ${job.id}${job.name ? ` (${job.name})` : ''}: ${job.type}, ${this.total} epoch${this.total === 1 ? '' : 's'}`);
    if (this.opts.tty) {
      this.timer = setInterval(() => this.draw(), this.opts.tickMs ?? 1000);
      this.timer.unref();
    }
  }

  onEvent(e: JobEvent): void {
    const d = e.data as Record<string, any>;
    switch (e.type) {
      case 'epoch': {
        const data = d as EpochEventData;
        this.epoch = data.epoch;
        this.total = data.totalEpochs ?? this.total;
        this.latest = data;
        this.durations.push(data.durationMs);
        this.lastEpochAt = Date.parse(e.createdAt) || Date.now();
        if (this.opts.tty) this.draw();
        else this.write(`${this.line()}\n`);
        return;
      }
      case 'status':
        this.status = d.status;
        this.note(`status ${d.status}${d.code ? ` (${d.code}${d.message ? `: ${d.message}` : ''})` : ''}${d.resumed ? ' (resumed)' : ''}`);
        return;
      case 'stage':
        this.stage = d.stage;
        if (d.stage === 'train') this.lastEpochAt = Date.parse(e.createdAt) || Date.now();
        this.note(`stage ${d.stage}`);
        return;
      case 'attempt':
        this.note(`attempt ${d.attempt}${d.resumeFrom ? `, resuming from epoch ${d.resumeFrom.epoch + 1} batch ${d.resumeFrom.batch}` : ''}`);
        return;
      case 'retry':
        this.note(`attempt ${d.attempt} failed (${d.code}); it will be retried`);
        return;
      case 'interrupted':
        this.note(`interrupted (${d.reason})${d.epoch !== undefined ? ` at epoch ${d.epoch + 1}, batch ${d.batch}` : ''}`);
        return;
      case 'cancel_requested':
        this.note('cancel requested; the job stops at its next batch');
        return;
      case 'warning':
        this.note(`warning: ${d.message}`);
        return;
      default:
        this.note(`${e.type} ${JSON.stringify(d)}`);
    }
  }

  /** Stops the ticker and leaves the cursor on a fresh line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.opts.tty && this.drawn) this.write('\n');
    this.drawn = false;
  }

  /** Seconds left: mean epoch time × epochs to go, less the time the current epoch has run. */
  private eta(): number | null {
    if (this.durations.length === 0 || this.total === 0) return null;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    const left = mean * (this.total - this.epoch) - (this.epoch < this.total ? Date.now() - this.lastEpochAt : 0);
    return Math.max(0, left);
  }

  private line(): string {
    const fraction = this.total > 0 ? Math.min(1, this.epoch / this.total) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    const m = this.latest;
    const parts = [
      bar,
      `${String(Math.round(fraction * 100)).padStart(3)}%`,
      `epoch ${this.epoch}/${this.total}`,
      ...(m ? [`loss ${fixed(m.loss)}`, `acc ${fixed(m.accuracy)}`, `val_loss ${fixed(m.valLoss)}`, `val_acc ${fixed(m.valAccuracy)}`, `${Math.round(m.examplesPerSec)} ex/s`] : []),
    ];
    const eta = this.eta();
    if (eta !== null) parts.push(`ETA ${duration(eta)}`);
    else if (this.stage) parts.push(`(${this.stage})`);
    return parts.join('  ');
  }

  private draw(): void {
    if (!this.opts.tty || !DRAWN_WHILE.has(this.status)) return;
    // A line wider than the terminal wraps, and \r would then redraw only its last row.
    const columns = (this.out as NodeJS.WriteStream).columns;
    const line = this.line();
    this.write(`\r\x1b[2K${columns && line.length >= columns ? line.slice(0, columns - 1) : line}`);
    this.drawn = true;
  }

  /** A line of its own; on a terminal the bar is cleared first and redrawn below it. */
  private note(text: string): void {
    if (this.opts.tty && this.drawn) this.write('\r\x1b[2K');
    this.write(`${text}\n`);
    this.drawn = false;
    this.draw();
  }

  private write(s: string): void {
    this.out.write(s);
  }
}
