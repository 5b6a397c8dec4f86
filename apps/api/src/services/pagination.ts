// Cursor pagination over (createdAt, id), newest first: stable under inserts.
import { BadRequestError, LimitExceededError } from '../../../shared/errors.ts';

export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  const [ts, id] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(ts);
  const valid =
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id ?? '') &&
    !Number.isNaN(createdAt.getTime()) &&
    createdAt.toISOString() === ts &&
    createdAt.getUTCFullYear() >= 2000 &&
    createdAt.getUTCFullYear() <= 9999;
  if (!valid) {
    throw new BadRequestError('invalid_cursor', 'The pagination cursor is not valid');
  }
  return { createdAt, id };
}

/** A Prisma where-clause for rows after the cursor in newest-first order. */
export function afterCursor(raw: string | undefined) {
  if (!raw) return {};
  const c = decodeCursor(raw);
  return { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] };
}

export const newestFirst = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/**
 * Fetch limit + 1 rows; the extra one only says whether there is more. `map` may leave a row out
 * (undefined: a stored row that no longer fits its schema); the page lists its id in `skipped`,
 * and the cursor still moves past it.
 */
export function toPage<T extends Cursor, R>(rows: T[], limit: number, map: (row: T) => R | undefined) {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const data: R[] = [];
  const skipped: string[] = [];
  for (const row of page) {
    const item = map(row);
    if (item === undefined) skipped.push(row.id);
    else data.push(item);
  }
  return {
    data,
    hasMore,
    nextCursor: hasMore ? encodeCursor(page[page.length - 1]) : null,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/** A list's page size, refused past its configured limit with a 400 that names the setting. */
export function checkPageSize(limit: number, max: number, setting = 'MAX_PAGE_SIZE'): number {
  if (limit > max) throw new LimitExceededError('page_size_exceeded', 'The page size is over the limit', 400, setting, max, limit);
  return limit;
}
