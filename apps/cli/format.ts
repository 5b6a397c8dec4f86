// Plain-text tables for people; --json output bypasses all of this.
import type { Dataset, Evaluation, Job, Model } from '../client/index.ts';

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const numeric = header.map((_, i) => rows.some((r) => typeof r[i] === 'number') && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const width = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const fixed = (n: number | null | undefined, digits = 4) => (n === null || n === undefined ? '-' : n.toFixed(digits));

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function datasetsTable(rows: Dataset[]): string {
  return table(
    ['id', 'name', 'status', 'examples', 'classes', 'shape', 'created'],
    rows.map((d) => [d.id, d.name, d.status, d.numExamples, d.numClasses, `[${d.featureShape.join(',')}]`, d.createdAt]),
  );
}

export function modelsTable(rows: Model[]): string {
  return table(
    ['id', 'name', 'kind', 'params', 'input', 'parent', 'job'],
    rows.map((m) => [m.id, m.name, m.kind, m.totalParams, `[${m.inputShape.map((d) => d ?? '?').join(',')}]`, m.lineage.parentModelId, m.lineage.jobId]),
  );
}

export function jobsTable(rows: Job[]): string {
  return table(
    ['id', 'name', 'type', 'status', 'epoch', 'val acc', 'created'],
    rows.map((j) => [j.id, j.name, j.type, j.status, `${j.progress.epoch}/${j.progress.totalEpochs}`, j.latestMetrics?.valAccuracy ?? null, j.createdAt]),
  );
}

export function jobSummary(j: Job): string {
  const m = j.latestMetrics;
  const lines: Array<[string, string | number | null | undefined]> = [
    ['id', j.id],
    ['name', j.name],
    ['type', j.type],
    ['status', j.status + (j.stage ? ` (stage ${j.stage})` : '')],
    ['progress', `epoch ${j.progress.epoch}/${j.progress.totalEpochs}`],
    ['base model', j.baseModelId],
    ['train dataset', j.trainDatasetId],
    ['output model', j.outputModelId],
    ['backend', j.backend],
    ['attempts', j.attempts],
    ['latest', m ? `loss ${fixed(m.loss)}  acc ${fixed(m.accuracy)}  val_loss ${fixed(m.valLoss)}  val_acc ${fixed(m.valAccuracy)}` : null],
    ['best epoch', j.bestCheckpoint ? `${j.bestCheckpoint.epoch} (${j.bestCheckpoint.metric} ${fixed(j.bestCheckpoint.value)}${j.bestCheckpoint.earlyStopped ? ', stopped early' : ''})` : null],
    ['auto', j.auto ? `${j.auto.winner} won of ${j.auto.options.filter((o) => o.trained).map((o) => `${o.id} (val ${fixed(o.measuredValAccuracy ?? 0)})`).join(', ')}; compute ${j.auto.compute.used} of ${j.auto.compute.allOptions}` : null],
    ['error', j.error ? `${j.error.code}: ${j.error.message}` : null],
    ['created', j.createdAt],
    ['finished', j.finishedAt],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  const text = lines.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
  return j.evaluation ? `${text}\n\n${evaluationReport(j.evaluation)}` : text;
}

/** The evaluation as a person reads it: headline, per-class table, confusion matrix, scratch comparison. */
export function evaluationReport(e: Evaluation): string {
  const out = [
    `Evaluation on the ${e.split} set (${e.numExamples} examples): accuracy ${fixed(e.accuracy)}, loss ${fixed(e.loss)}`,
    '',
    table(['label', 'precision', 'recall', 'f1', 'support'], e.perClass.map((c) => [c.label, fixed(c.precision), fixed(c.recall), fixed(c.f1), c.support])),
    '',
    'Confusion matrix (rows: true label, columns: predicted):',
    table(['', ...e.labels], e.confusionMatrix.map((row, i) => [e.labels[i], ...row])),
  ];
  const c = e.comparison;
  if (c) {
    const col = (r: typeof c.fineTuned) => [fixed(r.testAccuracy), fixed(r.testLoss), `${(r.wallTimeMs / 1000).toFixed(1)} s`, r.epochsToTarget ?? 'not reached'];
    const [ft, sc] = [col(c.fineTuned), col(c.scratch)];
    out.push(
      '',
      'Fine-tuned vs trained from scratch:',
      table(['', 'fine-tuned', 'from scratch'], [
        ['test accuracy', ft[0], sc[0]],
        ['test loss', ft[1], sc[1]],
        ['wall time', ft[2], sc[2]],
        [`epochs to ${c.targetValAccuracy} val acc`, ft[3], sc[3]],
      ]),
    );
  }
  return out.join('\n');
}
