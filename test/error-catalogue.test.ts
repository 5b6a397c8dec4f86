// The error catalogue (apps/api/src/schemas/errors.ts) against the source: every
// code the service can give is catalogued, and every catalogued code is given
// somewhere. test/openapi.test.ts checks that the document carries the catalogue.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../apps/api/src/schemas/errors.ts';

const SOURCE_ROOT = path.resolve(import.meta.dirname, '../apps');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // The CLI, the client and the dashboard are callers of the API, not sources of its codes.
      if (!['generated', 'node_modules', 'cli', 'client', 'dashboard'].includes(entry.name)) out.push(...(await sourceFiles(full)));
    } else if (/\.(ts|mjs)$/.test(entry.name)) out.push(full);
  }
  return out;
}

describe('error catalogue', () => {
  it('catalogues every error code the source gives, and none it does not', async () => {
    const sources = await Promise.all((await sourceFiles(SOURCE_ROOT)).map(async (f) => ({ f, text: await readFile(f, 'utf8') })));
    const thrown = new Set<string>();
    for (const { f, text } of sources) {
      for (const m of text.matchAll(/new (?:BadRequest|Unauthorized|Forbidden|TooManyRequests|Conflict|Unprocessable|Transient|App|LimitExceeded)Error\(\s*'([a-z0-9_]+)'/g)) thrown.add(m[1]);
      for (const m of text.matchAll(/new NotFoundError\(\s*'([a-z0-9_]+)'/g)) thrown.add(`${m[1]}_not_found`);
      for (const m of text.matchAll(/(?:\bcode|errorCode): '([a-z0-9_]+)'/g)) thrown.add(m[1]);
      if (f.endsWith(path.join('api', 'src', 'plugins', 'errors.ts'))) for (const m of text.matchAll(/FST_ERR_\w+: '([a-z0-9_]+)'/g)) thrown.add(m[1]);
      if (text.includes('extends UnprocessableError') && text.includes("super('outbound_url_not_allowed'")) thrown.add('outbound_url_not_allowed');
    }
    assert.ok(thrown.has('job_not_found') && thrown.has('validation_failed') && thrown.has('invalid_json'), 'the scan finds codes');
    assert.deepEqual([...thrown].filter((c) => !(c in ERROR_CODES)).sort(), [], 'codes missing from apps/api/src/schemas/errors.ts');
    const all = sources.filter(({ f }) => !f.endsWith(path.join('schemas', 'errors.ts'))).map(({ text }) => text).join('\n');
    assert.deepEqual(Object.keys(ERROR_CODES).filter((c) => !all.includes(`'${c}'`)), [], 'catalogued codes that nothing gives');
  });
});
