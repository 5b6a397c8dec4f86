// The error catalogue (apps/api/src/schemas/errors.ts) against the codes
// (ERROR_CODE_LIST in apps/shared/errors.ts). An AppError takes only a listed
// code and the catalogue `satisfies Record<ErrorCode, …>`, so the compiler keeps
// the two together (`npm run typecheck`); this test checks the same at run time
// and that each entry says something. test/openapi.test.ts checks that the
// document carries the catalogue.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, ERROR_CODE_LIST, NotFoundError } from '../apps/shared/errors.ts';
import { ERROR_CODES, type ErrorCodeDoc } from '../apps/api/src/schemas/errors.ts';

describe('error catalogue', () => {
  it('documents every code, once, and nothing else', () => {
    assert.equal(new Set(ERROR_CODE_LIST).size, ERROR_CODE_LIST.length, 'a code is listed twice');
    const documented = ERROR_CODES as Record<string, ErrorCodeDoc | undefined>;
    assert.deepEqual(ERROR_CODE_LIST.filter((c) => !documented[c]), [], 'codes the catalogue does not document');
    assert.deepEqual(Object.keys(ERROR_CODES).filter((c) => !(ERROR_CODE_LIST as readonly string[]).includes(c)), [], 'documented codes that are not in ERROR_CODE_LIST');
    for (const code of ERROR_CODE_LIST) {
      const d = documented[code]!;
      assert.ok(d.when.trim().length > 10, `${code}: says when it is given`);
      for (const s of d.statuses) assert.ok(s >= 400 && s < 600, `${code}: ${s} is an error status`);
    }
  });

  it('makes errors only with listed codes (a compile-time check; npm run typecheck fails if these are accepted)', () => {
    // @ts-expect-error: not a code in ERROR_CODE_LIST
    const unknown = new AppError('no_such_code', 'never given', 400);
    // @ts-expect-error: `widget_not_found` is not a code
    const missing = new NotFoundError('widget', 'w1');
    // At run time a cast gets past the compiler; the point is that nothing in the source does.
    assert.equal(unknown.code, 'no_such_code');
    assert.equal(missing.code, 'widget_not_found');
    assert.equal(new NotFoundError('model', 'm1').code, 'model_not_found');
  });
});
