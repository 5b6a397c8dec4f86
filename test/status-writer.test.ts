// "Where does a job change status?" has one answer: apps/shared/jobs/job-store.ts.
// This scans the source for writes of Job.status: a Prisma job write (create,
// update, updateMany, upsert, createMany) whose `data` names `status`, or raw
// SQL that updates or inserts into "Job" with a status. What it cannot see
// (a status hidden in a spread variable) the types cover: JobFields, the typed
// input of every other job write, has no status.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const STORE = 'apps/shared/jobs/job-store.ts';

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'generated') out.push(...(await sourceFiles(p)));
    } else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The text from an opening bracket at `open` to its match. */
function balanced(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === stack.at(-1)) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, i + 1);
    }
  }
  return text.slice(open);
}

/** Where `text` writes Job.status: one line number per write. */
export function statusWrites(text: string): number[] {
  const lines: number[] = [];
  const lineOf = (i: number) => text.slice(0, i).split('\n').length;
  for (const m of text.matchAll(/\.job\s*\.\s*(create|createMany|update|updateMany|upsert)\s*\(/g)) {
    const args = balanced(text, m.index + m[0].length - 1);
    // The `data` (or upsert's `create`/`update`) object of the call.
    for (const d of args.matchAll(/\b(data|create|update)\s*:\s*/g)) {
      const start = d.index + d[0].length;
      const value = args[start] === '{' ? balanced(args, start) : args.slice(start, args.indexOf('\n', start));
      // `status: x`, or the shorthand `{ status }`.
      if (/(^|[{,\s])status\s*(:|,|\})/.test(value)) lines.push(lineOf(m.index));
    }
  }
  for (const m of text.matchAll(/(UPDATE\s+"Job"\s+SET[^;`]*"status"\s*=|INSERT\s+INTO\s+"Job"[^;`]*"status")/gi)) lines.push(lineOf(m.index));
  return [...new Set(lines)];
}

describe('the one writer of Job.status', () => {
  it('finds status writes of every form it looks for', () => {
    assert.deepEqual(statusWrites("await tx.job.updateMany({ where: { id, status: 'queued' }, data: { status: 'paused' } });"), [1]);
    assert.deepEqual(statusWrites("db.job\n  .update({\n    where: { id },\n    data: { finishedAt: now, status },\n  })"), [1]);
    assert.deepEqual(statusWrites("db.job.upsert({ where: { id }, create: { id, status: 'queued' }, update: {} })"), [1]);
    assert.deepEqual(statusWrites('await tx.$executeRaw`UPDATE "Job" SET "status" = \'failed\' WHERE id = ${id}`'), [1]);
    // Reading by status is not writing it.
    assert.deepEqual(statusWrites("db.job.updateMany({ where: { status: { in: ['queued'] } }, data: { interruptRequest: 'shutdown' } })"), []);
    assert.deepEqual(statusWrites("db.job.count({ where: { status: 'running' } })"), []);
  });

  it('is apps/shared/jobs/job-store.ts, and nothing else in apps/ or prisma/', async () => {
    const writers: string[] = [];
    for (const file of [...(await sourceFiles(path.join(ROOT, 'apps'))), ...(await sourceFiles(path.join(ROOT, 'prisma')))]) {
      const rel = path.relative(ROOT, file);
      for (const line of statusWrites(await readFile(file, 'utf8'))) writers.push(`${rel}:${line}`);
    }
    const elsewhere = writers.filter((w) => !w.startsWith(`${STORE}:`));
    assert.deepEqual(elsewhere, [], `Job.status is written outside ${STORE}; move the write into JobStore.transition`);
    // Not vacuous: the store's own writes are found.
    assert.ok(writers.length >= 2, `expected the store's create and transition writes, found ${writers.join(', ')}`);
  });
});
