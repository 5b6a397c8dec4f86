// The API's per-job spec cache (issue 19, api/src/services/spec-cache.ts): a
// spec is parsed and checked once, but only while its stored text is the same;
// a spec that does not fit its schema is refused every time, never kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecCache } from '../apps/api/src/services/spec-cache.ts';
import { Value } from '@sinclair/typebox/value';
import { checkedOnce, decodeSpec, StoredJsonError } from '../apps/shared/jobs/decode.ts';
import { JobSpecSchema } from '../apps/shared/jobs/spec.ts';

const ID = '00000000-0000-4000-8000-000000000001';
// A spec that fits JobSpecSchema (TypeBox makes one from the schema), with a name to tell versions apart.
const spec = (name: string) => ({ ...(Value.Create(JobSpecSchema) as object), name });
const validSpec = (name: string) => JSON.stringify(spec(name));

describe('spec cache', () => {
  it('hands back the same decoded object while the text is the same, and a new one when it changes', () => {
    const cache = new SpecCache();
    const a = cache.get(ID, validSpec('a'));
    assert.equal(cache.get(ID, validSpec('a')), a, 'same text: decoded once');
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.hyperparameters), 'shared, so frozen all the way down');
    const b = cache.get(ID, validSpec('b'));
    assert.equal(b.name, 'b', 'changed text: decoded afresh, never the stale spec');
    assert.equal(decodeSpec(b, ID), b, 'a cached spec passes decodeSpec again');
  });

  it('vouches only for what it froze all the way down, also below an object frozen shallowly', () => {
    const given = Object.freeze(spec('shallow')) as ReturnType<typeof spec> & { hyperparameters: { epochs: number } };
    const checked = checkedOnce(decodeSpec, given, ID);
    assert.ok(Object.isFrozen(checked.hyperparameters), 'the levels below are frozen too');
    assert.throws(() => { (checked.hyperparameters as { epochs: unknown }).epochs = 'not a number'; }, TypeError);
  });

  it('refuses a spec that does not fit, every time, and keeps nothing for it', () => {
    const cache = new SpecCache();
    const bad = JSON.stringify({ ...spec('x'), type: 'no-such-type' });
    for (let i = 0; i < 2; i++) assert.throws(() => cache.get(ID, bad), StoredJsonError);
    assert.equal(cache.size, 0);
  });

  it('keeps at most its bound, dropping the oldest', () => {
    const cache = new SpecCache(2);
    const text = validSpec('a');
    const first = cache.get('1', text);
    cache.get('2', text);
    cache.get('3', text);
    assert.equal(cache.size, 2);
    assert.notEqual(cache.get('1', text), first, 'the oldest was dropped, so decoded again');
  });
});
